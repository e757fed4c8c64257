/**
 * The one AMQP connection of a Broker, on amqplib's opt-in connection recovery: amqplib
 * reconnects with backoff and calls `setup` on every fresh connection. This module owns
 * that loop, the registered topology (run again on every connection), the channel
 * bookkeeping every other part relies on (which channels are closed), and the
 * closing/closed flags of the broker. What must be rebuilt on a new connection (the
 * publish and reply channels, consumers) is told through ConnectionEvents.
 */
import * as amqp from "amqplib";
import type { Socket } from "node:net";
import type { Channel, ChannelModel, ConfirmChannel, RecoveringChannelModel } from "amqplib";
import type { Logger } from "@pragma/logger";
import type { BrokerOptions, QueueDepth, TopologyFn } from "./api";
import { coalesceWrites } from "./coalesce-writes";
import { BrokerEndpoints } from "./endpoints";
import { ConnectionLostError } from "./errors";

/** One open connection; channels hang off it and die with it. */
export interface Live {
  /** Counts connections: a consumer remembers the one it was attached on. */
  gen: number;
  model: ChannelModel;
}

/** What the rest of the broker does when a connection comes and goes. */
export interface ConnectionEvents {
  /** After the topology, before the connection counts as live: open the channels publishes and requests need. A throw drops the connection. */
  opening(live: Live): Promise<void>;
  /** The connection is live: re-attach consumers. */
  opened(live: Live): Promise<void>;
  /** The connection closed (its channels with it). */
  lost(live: Live): void;
}

export class Connection {
  /** The open connection, once its setup finished; null while disconnected. */
  live: Live | null = null;
  /** close() has begun: no new consumers, nothing re-attached. */
  closing = false;
  /** Consumers are drained: no new publishes or requests. */
  closed = false;
  /** Bound on each wait of close() (in-flight handlers, outstanding confirms). */
  readonly closeTimeoutMs: number;

  private gen = 0;
  private conn: RecoveringChannelModel | null = null;
  private readonly closedChannels = new WeakSet<Channel>();
  private readonly topologies: TopologyFn[] = [];

  constructor(
    readonly options: BrokerOptions,
    readonly log: Logger,
  ) {
    this.closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
  }

  /** Resolves once the first connection is set up; rejects (ConnectionLostError) when the initial retries run out. */
  async open(events: ConnectionEvents): Promise<void> {
    const r = this.options.reconnect ?? {};
    // One URL: amqplib's own string form, as always. Several: a view that moves to the
    // next node after every failed attempt or lost connection (endpoints.ts).
    const endpoints = new BrokerEndpoints(this.options.url);
    const target = endpoints.size > 1 ? endpoints.connectTarget() : this.options.url;
    const conn = await amqp.connect(target, {
      clientProperties: { connection_name: this.options.connectionName },
      // amqplib leaves Nagle's algorithm on by default: small frames (an RPC reply, a
      // confirm-awaited publish) then wait for the peer's delayed ACK, tens of ms each.
      noDelay: true,
      recovery: {
        initialDelay: r.initialDelayMs ?? 100,
        // Several nodes: retry within a second. While a lost node's transient queues are
        // being cleaned up the declarations fail for a few seconds, and a 5 s backoff built
        // up meanwhile was most of the pause clients saw on the 3-node run (bench README).
        maxDelay: r.maxDelayMs ?? (endpoints.size > 1 ? 1000 : 5000),
        initialMaxRetries: r.initialMaxRetries ?? 10,
        maxRetries: Infinity,
        // Listeners must exist before the first attempt: an 'error' with no listener throws.
        waitForConnect: false,
        setup: (model: ChannelModel) => this.setup(model, events),
      },
    });
    this.conn = conn;
    conn.on("error", (err: Error) => this.log.warn({ err }, "broker connection error"));
    conn.on("handler-error", (err: Error, event: string) => this.log.error({ err, event }, "error thrown in a broker connection listener"));
    // Listeners run before amqplib schedules the next attempt, so that attempt already goes to the next node.
    conn.on("disconnect", (err: Error) => {
      const from = endpoints.current.label;
      const to = endpoints.size > 1 ? endpoints.next() : from;
      this.log.warn({ err: { message: err.message }, node: from, next: to }, "broker connection lost");
    });
    conn.on("connect-failed", (err: Error) => {
      const from = endpoints.current.label;
      const to = endpoints.size > 1 ? endpoints.next() : from;
      this.log.warn({ err: { message: err.message }, node: from, next: to }, "broker connection attempt failed");
    });
    conn.on("connect", () => this.log.info({ node: endpoints.current.label }, "broker connected"));
    conn.on("reconnect-scheduled", (info: { attempt: number; delay: number }) =>
      this.log.info({ attempt: info.attempt, delayMs: info.delay }, "broker reconnect scheduled"),
    );
    conn.on("reconnect-failed", (err: Error) => this.log.error({ err }, "broker reconnect abandoned"));
    conn.on("blocked", (reason: string) => this.log.warn({ reason }, "broker blocked publishing (resource alarm)"));
    conn.on("unblocked", () => this.log.info({}, "broker unblocked publishing"));
    try {
      await conn.waitForConnect();
    } catch (err) {
      throw new ConnectionLostError(`could not connect to the broker: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Runs on every fresh connection, before amqplib reports it connected. A throw makes amqplib drop it and retry. */
  private async setup(model: ChannelModel, events: ConnectionEvents): Promise<void> {
    const live: Live = { gen: ++this.gen, model };
    coalesceWrites((model as unknown as { connection?: { stream?: Socket } }).connection?.stream);
    model.on("error", (err: Error) => this.log.warn({ err: { message: err.message } }, "broker connection error"));
    model.on("close", () => {
      if (this.live === live) this.live = null;
      events.lost(live);
    });

    for (const fn of [...this.topologies]) {
      try {
        await this.runTopology(model, fn);
      } catch (err) {
        this.log.error({ err }, "topology declaration failed; dropping this connection to retry");
        throw err;
      }
    }
    await events.opening(live);
    this.live = live;
    await events.opened(live);
  }

  /** Whether this is a later connection than the first. */
  get reconnected(): boolean {
    return this.gen > 1;
  }

  // ---- channels ---------------------------------------------------------------------

  /** A channel on `live`, logged and tracked (isClosed). */
  async channel(live: Live, label: string): Promise<Channel> {
    const ch = await live.model.createChannel();
    this.track(ch, label);
    return ch;
  }

  async confirmChannel(live: Live, label: string): Promise<ConfirmChannel> {
    const ch = await live.model.createConfirmChannel();
    this.track(ch, label);
    return ch;
  }

  private track(ch: Channel, label: string): void {
    ch.on("close", () => this.closedChannels.add(ch));
    ch.on("error", (err: Error) => this.log.warn({ err: { message: err.message }, channel: label }, "broker channel error"));
    ch.on("handler-error", (err: Error, event: string) => this.log.error({ err, event, channel: label }, "error thrown in a broker channel listener"));
  }

  /** Whether `ch` (opened here) has closed: its delivery tags mean nothing any more. */
  isClosed(ch: Channel): boolean {
    return this.closedChannels.has(ch);
  }

  /** Closes `ch` unless it already closed; never throws. */
  async closeChannel(ch: Channel): Promise<void> {
    if (!this.closedChannels.has(ch)) await ch.close().catch(() => undefined);
  }

  // ---- topology ---------------------------------------------------------------------

  async addTopology(fn: TopologyFn): Promise<void> {
    const live = this.live;
    if (!live) {
      // Runs on the next connection's setup.
      this.topologies.push(fn);
      return;
    }
    // Only keep functions that work: a broken one would fail every reconnect.
    await this.runTopology(live.model, fn);
    this.topologies.push(fn);
  }

  /** Every registered topology again on the open connection (a queue deleted under a live connection comes back). */
  async redeclare(live: Live): Promise<void> {
    for (const fn of [...this.topologies]) await this.runTopology(live.model, fn);
  }

  private async runTopology(model: ChannelModel, fn: TopologyFn): Promise<void> {
    // A failed declaration closes its channel, so each run gets its own (and more on request).
    const opened: Channel[] = [];
    const open = async () => {
      const ch = await model.createChannel();
      this.track(ch, "topology");
      opened.push(ch);
      return ch;
    };
    try {
      await fn(await open(), open);
    } finally {
      for (const ch of opened) await this.closeChannel(ch);
    }
  }

  // ---- queue depths -----------------------------------------------------------------

  async queueDepths(queues: string[]): Promise<QueueDepth[]> {
    const live = this.live;
    if (!live || this.closed) throw new ConnectionLostError("not connected to the broker");
    const out: QueueDepth[] = [];
    // A passive declare of a missing queue closes its channel: the next queue gets a new one.
    let ch: Channel | undefined;
    try {
      for (const queue of queues) {
        if (!ch) {
          const created = await live.model.createChannel();
          // A missing queue is expected here (left out of the answer), not worth a warning.
          created.on("error", () => undefined);
          created.on("close", () => this.closedChannels.add(created));
          ch = created;
        }
        try {
          const q = await ch.checkQueue(queue);
          out.push({ queue, messages: q.messageCount, consumers: q.consumerCount });
        } catch {
          ch = undefined;
        }
      }
    } finally {
      if (ch) await this.closeChannel(ch);
    }
    return out;
  }

  /** Closes the connection itself (its channels with it). */
  async close(): Promise<void> {
    this.live = null;
    await this.conn?.close().catch((err: unknown) => this.log.warn({ err }, "error closing the broker connection"));
    this.log.info({}, "broker connection closed");
  }
}

/**
 * A channel kept open on each connection (the confirm channel, the reply channel): opened
 * in the connection's setup, forgotten when it closes under a live connection, and opened
 * again on the next use.
 */
export class ChannelPerConnection<C extends Channel> {
  private readonly byConnection = new WeakMap<Live, Promise<C>>();

  constructor(
    private readonly conn: Connection,
    private readonly openOn: (live: Live) => Promise<C>,
  ) {}

  /** Opens it on a new connection (part of the connection's setup: a failure drops the connection). */
  open(live: Live): Promise<C> {
    const ch = this.openOn(live);
    this.byConnection.set(live, ch);
    return ch;
  }

  /** For the channel's close listener: the connection still up (only the channel died), the next use opens a new one. */
  closed(live: Live): void {
    if (this.conn.live === live) this.byConnection.delete(live);
  }

  /** The live connection's channel, opened if need be; rejects with `notConnected()`, or `cannotOpen(err)` when opening fails. */
  current(notConnected: () => Error, cannotOpen: (err: unknown) => Error): Promise<C> {
    const live = this.conn.live;
    if (!live) return Promise.reject(notConnected());
    let ch = this.byConnection.get(live);
    if (!ch) {
      ch = this.open(live);
      ch.catch(() => this.byConnection.delete(live));
    }
    return ch.catch((err: unknown) => {
      throw cannotOpen(err);
    });
  }

  /** Closes the channel of `live`, if it opened and is still open. */
  async close(live: Live): Promise<void> {
    const ch = await this.byConnection.get(live)?.catch(() => undefined);
    if (ch) await this.conn.closeChannel(ch);
  }
}

/** A bounded wait (close() deadlines) that never keeps the process alive. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)).unref());
}
