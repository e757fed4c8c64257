import { resolve } from "node:path";

/** The checkout whose system is started: this repository (chaos/ lives directly under it). */
export const ROOT = resolve(__dirname, "..", "..");

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export const say = (msg: string) => process.stderr.write(`[chaos ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

export interface Answer {
  /** HTTP status, or 0 when no answer came (refused, reset, timed out). */
  status: number;
  body: any;
  text: string;
}

/** One JSON request; never throws (no answer is status 0). */
export async function call(baseUrl: string, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {}): Promise<Answer> {
  try {
    const res = await fetch(`${baseUrl}${path}`, {
      method,
      headers: { ...(opts.body !== undefined ? { "content-type": "application/json" } : {}), ...opts.headers },
      body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
      signal: AbortSignal.timeout(opts.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let body: any;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    return { status: res.status, body, text };
  } catch (err) {
    // fetch says only "fetch failed"; the cause says what happened (ECONNREFUSED, other side closed, ...).
    const e = err as Error & { cause?: { code?: string; message?: string } };
    return { status: 0, body: undefined, text: [e.message, e.cause?.code, e.cause?.message].filter(Boolean).join(": ") };
  }
}

export async function mustCall(baseUrl: string, method: string, path: string, opts: Parameters<typeof call>[3] = {}): Promise<Answer> {
  const res = await call(baseUrl, method, path, opts);
  if (res.status < 200 || res.status >= 300) throw new Error(`${method} ${path} → ${res.status}: ${res.text.slice(0, 300)}`);
  return res;
}

/** Runs `fn` over items with at most `limit` at once. */
export async function mapLimit<T>(items: T[], limit: number, fn: (item: T, i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        await fn(items[i]!, i);
      }
    }),
  );
}
