import { connect } from "node:net";

/**
 * The few Redis commands this provider needs, over RESP on a plain socket: a pushed
 * provider bundles only what its package brings, and a tiny client is less to bring than
 * a library. One connection per call; providers run a handful of commands per event.
 */
export type Reply = string | number | null | Reply[] | Error;

export function parseRedisUrl(url: string): { host: string; port: number; password?: string; username?: string } {
  const u = new URL(url);
  if (u.protocol !== "redis:") throw new Error(`redis_url must start with redis:// (got ${u.protocol})`);
  return {
    host: u.hostname || "127.0.0.1",
    port: Number(u.port || 6379),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
  };
}

function encode(args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join("");
}

/** Parses one reply from `buf` at `pos`; undefined when more bytes are needed. */
function parse(buf: Buffer, pos: number): { value: Reply; next: number } | undefined {
  const eol = buf.indexOf("\r\n", pos);
  if (eol < 0) return undefined;
  const line = buf.toString("utf8", pos + 1, eol);
  switch (buf[pos]) {
    case 0x2b: // +
      return { value: line, next: eol + 2 };
    case 0x2d: // -
      return { value: new Error(line), next: eol + 2 };
    case 0x3a: // :
      return { value: Number(line), next: eol + 2 };
    case 0x24: {
      // $
      const n = Number(line);
      if (n < 0) return { value: null, next: eol + 2 };
      if (buf.length < eol + 2 + n + 2) return undefined;
      return { value: buf.toString("utf8", eol + 2, eol + 2 + n), next: eol + 2 + n + 2 };
    }
    case 0x2a: {
      // *
      const n = Number(line);
      if (n < 0) return { value: null, next: eol + 2 };
      const items: Reply[] = [];
      let at = eol + 2;
      for (let i = 0; i < n; i++) {
        const r = parse(buf, at);
        if (!r) return undefined;
        items.push(r.value);
        at = r.next;
      }
      return { value: items, next: at };
    }
    default:
      throw new Error(`unexpected reply byte ${buf[pos]}`);
  }
}

/** Runs the commands in order on one connection (AUTH first when the URL has a password); one reply each. */
export function redis(url: string, commands: string[][], timeoutMs = 5000): Promise<Reply[]> {
  const target = parseRedisUrl(url);
  const all = target.password ? [target.username ? ["AUTH", target.username, target.password] : ["AUTH", target.password], ...commands] : commands;
  return new Promise((resolve, reject) => {
    const sock = connect(target.port, target.host);
    let buf = Buffer.alloc(0);
    const replies: Reply[] = [];
    const timer = setTimeout(() => sock.destroy(new Error(`redis at ${target.host}:${target.port} did not answer in ${timeoutMs} ms`)), timeoutMs);
    sock.on("connect", () => sock.write(all.map(encode).join("")));
    sock.on("data", (d) => {
      buf = Buffer.concat([buf, d]);
      let r: ReturnType<typeof parse>;
      while ((r = parse(buf, 0))) {
        replies.push(r.value);
        buf = buf.subarray(r.next);
      }
      if (replies.length >= all.length) {
        clearTimeout(timer);
        sock.end();
        resolve(target.password ? replies.slice(1) : replies);
      }
    });
    sock.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}
