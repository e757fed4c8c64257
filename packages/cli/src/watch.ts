import { createParser, type EventSourceMessage } from "eventsource-parser";
import type { ApiClient } from "./client";
import { ApiError } from "./errors";

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

/**
 * Follows GET /resources/watch until `signal` aborts: parses the event stream, and when
 * it ends (gateway restart, token expiry, network) opens it again with Last-Event-ID, so
 * nothing that changed meanwhile is missed. Errors that a retry cannot fix (4xx other
 * than 401/429) are thrown.
 */
export async function watchResources(client: ApiClient, opts: WatchOptions): Promise<void> {
  let lastEventId = opts.lastEventId;
  let failures = 0;
  while (!opts.signal.aborted) {
    let heard = false;
    try {
      const res = await client.stream("/resources/watch", {
        query: { provider: opts.query?.provider, resource: opts.query?.resource, tags: opts.query?.tags },
        ...(lastEventId ? { headers: { "last-event-id": lastEventId } } : {}),
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
      const decoder = new TextDecoder();
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) parser.feed(decoder.decode(chunk, { stream: true }));
    } catch (err) {
      if (opts.signal.aborted) return;
      if (err instanceof ApiError && err.status >= 400 && err.status < 500 && err.status !== 429) throw err;
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

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
