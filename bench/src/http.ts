import http from "node:http";

export interface CallResult {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: any;
  text: string;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });

/** One JSON request over a keep-alive agent. Only 127.0.0.1 targets are used by the bench. */
export function call(baseUrl: string, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<CallResult> {
  const url = new URL(path, baseUrl);
  const payload = opts.body === undefined ? undefined : Buffer.from(JSON.stringify(opts.body));
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method,
        agent,
        headers: { ...(payload ? { "content-type": "application/json", "content-length": String(payload.length) } : {}), ...opts.headers },
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let body: any;
          try {
            body = text ? JSON.parse(text) : undefined;
          } catch {
            body = undefined;
          }
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on("error", reject);
    if (payload) req.write(payload);
    req.end();
  });
}

export async function mustCall(baseUrl: string, method: string, path: string, opts: Parameters<typeof call>[3] & { expect?: number[] } = {}): Promise<CallResult> {
  const res = await call(baseUrl, method, path, opts);
  const ok = opts.expect ?? [200, 201, 208];
  if (!ok.includes(res.status)) throw new Error(`${method} ${path} → ${res.status}: ${res.text.slice(0, 500)}`);
  return res;
}

export interface PacedSample {
  index: number;
  /** When the request was due (open loop: latency counts from here, so a stalled driver cannot hide queueing). */
  scheduledAt: number;
  sentAt: number;
  respondedAt: number;
  status: number;
  body: any;
}

/**
 * Open-loop driver at a fixed rate, evenly spaced (autocannon's rate option sends each
 * second's quota back to back, which is a burst, not a rate). Bounded by `count`, by
 * `maxInFlight` and by the caller's timeout on each request.
 */
export async function paced(opts: {
  rate: number;
  count: number;
  maxInFlight?: number;
  send: (i: number) => Promise<CallResult>;
  onResponse?: (s: PacedSample) => void;
}): Promise<{ samples: PacedSample[]; errors: number; lateMs: number; elapsedMs: number }> {
  const maxInFlight = opts.maxInFlight ?? 512;
  const interval = 1000 / opts.rate;
  const samples: PacedSample[] = [];
  let inFlight = 0;
  let errors = 0;
  let maxLate = 0;
  const pending: Promise<void>[] = [];
  const t0 = performance.timeOrigin + performance.now();
  const now = () => performance.timeOrigin + performance.now();
  for (let i = 0; i < opts.count; i++) {
    const due = t0 + i * interval;
    let wait = due - now();
    while (wait > 1 || inFlight >= maxInFlight) {
      await new Promise((r) => setTimeout(r, Math.max(1, Math.min(wait, 5))));
      wait = due - now();
    }
    const sentAt = now();
    maxLate = Math.max(maxLate, sentAt - due);
    inFlight++;
    pending.push(
      opts
        .send(i)
        .then((res) => {
          const s: PacedSample = { index: i, scheduledAt: due, sentAt, respondedAt: now(), status: res.status, body: res.body };
          samples.push(s);
          opts.onResponse?.(s);
        })
        .catch(() => {
          errors++;
        })
        .finally(() => {
          inFlight--;
        }),
    );
  }
  await Promise.all(pending);
  return { samples, errors, lateMs: maxLate, elapsedMs: now() - t0 };
}

/** Runs `fn` over items with at most `limit` at once. */
export async function mapLimit<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}
