/**
 * Several broker URLs for one connection (the nodes of a RabbitMQ cluster, given as a
 * comma-separated AMQP_URL). amqplib's recovery reopens the connection with the same
 * `url` argument every time; handed an object instead of a string, it reads the
 * object's fields on every attempt. So this object's fields follow `current`, and the
 * broker calls `next()` when a connection attempt fails or an open connection is lost:
 * the following attempt goes to the next node, and a stopped node costs one backoff
 * delay, not a wait for it to come back.
 *
 * The first endpoint is picked at random, so the processes of a system spread their
 * connections over the nodes instead of all landing on the first one (a node's loss
 * then moves only its share of the clients).
 */
import { splitUrls } from "@pragma/config";
import type { Options } from "amqplib";

interface Endpoint {
  protocol: string;
  hostname: string;
  port: number;
  username: string;
  password: string;
  vhost: string;
  /** Query parameters amqplib understands on a string URL (heartbeat, frameMax, channelMax, locale). */
  query: URLSearchParams;
  /** For logs: no credentials. */
  label: string;
}

function parseEndpoint(url: string): Endpoint {
  const u = new URL(url);
  const protocol = u.protocol.replace(/:$/, "");
  if (protocol !== "amqp" && protocol !== "amqps") throw new Error(`expected an amqp:// or amqps:// URL, got ${u.protocol}//`);
  const port = u.port ? Number(u.port) : protocol === "amqp" ? 5672 : 5671;
  return {
    protocol,
    hostname: u.hostname.replace(/^\[|\]$/g, ""),
    port,
    // amqplib's string form defaults both to guest only when both are missing; same here.
    username: u.username || u.password ? decodeURIComponent(u.username) : "guest",
    password: u.username || u.password ? decodeURIComponent(u.password) : "guest",
    // Left percent-encoded, as in the URL: amqplib unescapes it (empty means "/").
    vhost: u.pathname.slice(1),
    query: u.searchParams,
    label: `${protocol}://${u.hostname}:${port}${u.pathname.length > 1 ? u.pathname : ""}`,
  };
}

const optionalInt = (q: URLSearchParams, key: string): number | undefined => {
  const v = q.get(key);
  return v === null ? undefined : Number.parseInt(v, 10);
};

export class BrokerEndpoints {
  private readonly list: Endpoint[];
  private index: number;

  constructor(url: string, start: number = Math.floor(Math.random() * 1e9)) {
    const urls = splitUrls(url);
    if (urls.length === 0) throw new Error("no broker URL given");
    this.list = urls.map(parseEndpoint);
    this.index = start % this.list.length;
  }

  get size(): number {
    return this.list.length;
  }

  get current(): Endpoint {
    return this.list[this.index]!;
  }

  /** Moves to the next endpoint (wrapping); returns its label. */
  next(): string {
    this.index = (this.index + 1) % this.list.length;
    return this.current.label;
  }

  /**
   * What amqp.connect() is given: a live view of the current endpoint, read by amqplib on
   * every (re)connection attempt.
   */
  connectTarget(): Options.Connect {
    // amqplib reads these fields on every (re)connection attempt: getters over this object's current endpoint.
    // eslint-disable-next-line @typescript-eslint/no-this-alias
    const self = this;
    return {
      get protocol() {
        return self.current.protocol;
      },
      get hostname() {
        return self.current.hostname;
      },
      get port() {
        return self.current.port;
      },
      get username() {
        return self.current.username;
      },
      get password() {
        return self.current.password;
      },
      get vhost() {
        return self.current.vhost;
      },
      get heartbeat() {
        return optionalInt(self.current.query, "heartbeat");
      },
      get frameMax() {
        return optionalInt(self.current.query, "frameMax");
      },
      get channelMax() {
        return optionalInt(self.current.query, "channelMax");
      },
      get locale() {
        return self.current.query.get("locale") ?? undefined;
      },
    };
  }
}
