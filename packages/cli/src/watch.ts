import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { ApiClient } from "./client";
import { ApiError } from "./errors";
import { HTTP_HEADERS } from "@pragma/contracts";

export interface WatchedResource {
  id: string;
  provider: string;
  resource: string;
  name: string;
  lifecycle_state?: string;
  error?: string | null;
  [k: string]: unknown;
}

export type WatchEvent =
  | { type: "changed"; resource: WatchedResource; id: string | undefined }
  | { type: "deleted"; resource: WatchedResource; id: string | undefined }
  /** The position was past the server's retention: what was missed must be listed again. */
  | { type: "reset"; id: string | undefined }
  /** The stream is open and this is its position (nothing missed from here on). */
  | { type: "sync"; id: string | undefined };

export interface WatchOptions {
  query?: { provider?: string; resource?: string; tags?: string[] };
  /** Resume after this position (an event id the server sent). */
  lastEventId?: string;
  signal: AbortSignal;
  onEvent(e: WatchEvent): void;
  /** Told before each reconnect (the stream ended or failed); the default waits and goes on. */
  onReconnect?(err: unknown, attempt: number): void;
  /** Give up after this many reconnects in a row without an event (default: never). */
  maxReconnects?: number;
}

/** What the watch needs of a client: the CLI's ApiClient, or the console's fetch with its session. */
export type WatchClient = Pick<ApiClient, "stream">;

/**
 * Follows GET /resources/watch until `signal` aborts: parses the event stream, and when
 * it ends (gateway restart, token expiry, network) opens it again with Last-Event-ID, so
 * nothing that changed meanwhile is missed. Errors that a retry cannot fix (4xx other
 * than 401/429) are thrown.
 */
export async function watchResources(client: WatchClient, opts: WatchOptions): Promise<void> {
  let lastEventId = opts.lastEventId;
  let failures = 0;
  while (!opts.signal.aborted) {
    let heard = false;
    try {
      const res = await client.stream("/resources/watch", {
        query: { provider: opts.query?.provider, resource: opts.query?.resource, tags: opts.query?.tags },
        ...(lastEventId ? { headers: { [HTTP_HEADERS.lastEventId]: lastEventId } } : {}),
        signal: opts.signal,
      });
      const parser = createParser({
        onEvent: (m: EventSourceMessage) => {
          if (m.id) lastEventId = m.id;
          heard = true;
          failures = 0;
          const type = m.event ?? "message";
          if (type === "changed" || type === "deleted") opts.onEvent({ type, resource: JSON.parse(m.data) as WatchedResource, id: m.id });
          else if (type === "reset" || type === "sync") opts.onEvent({ type, id: m.id });
        },
      });
      if (!res.body) throw new Error("the watch answered without a body");
      // A reader rather than `for await`: browsers without async-iterable streams run this too.
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(decoder.decode(value, { stream: true }));
      }
    } catch (err) {
      if (opts.signal.aborted) return;
      if (retryCannotFix(err)) throw err;
      failures++;
      if (opts.maxReconnects !== undefined && failures > opts.maxReconnects) throw err;
      opts.onReconnect?.(err, failures);
      await sleep(Math.min(250 * 2 ** Math.min(failures, 5), 5_000), opts.signal);
      continue;
    }
    if (opts.signal.aborted) return;
    // The server ended the stream (shutdown, token expiry): reconnect at once. One that
    // ended without a single event is not an event stream: count it as a failure.
    if (!heard) {
      failures++;
      if (opts.maxReconnects !== undefined && failures > opts.maxReconnects) throw new Error("the watch stream closed without sending anything");
      await sleep(Math.min(250 * 2 ** Math.min(failures, 5), 5_000), opts.signal);
    }
    opts.onReconnect?.(undefined, failures);
  }
}

/** A 4xx other than 401 (the client re-exchanges its token) and 429 (wait and retry). */
function retryCannotFix(err: unknown): boolean {
  const status = err instanceof ApiError ? err.status : (err as { status?: unknown } | null)?.status;
  return typeof status === "number" && status >= 400 && status < 500 && status !== 401 && status !== 429;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
