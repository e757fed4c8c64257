/**
 * A watch stream as a client sees it, through the CLI's own follower (the same code
 * `pragma resources watch` runs): every event in arrival order, and a way to wait for one.
 */
import { ApiClient, watchResources, type WatchEvent } from "@pragma/cli";
import { waitFor } from "@pragma/testing";

export interface Watcher {
  events: WatchEvent[];
  /** The id of the last event that carried one: where a new stream would resume. */
  lastId(): string | undefined;
  until(pred: (e: WatchEvent) => boolean, message: string, timeoutMs?: number): Promise<WatchEvent>;
  stop(): Promise<void>;
  /** Set when the follower gave up (an error a reconnect cannot fix). */
  error(): unknown;
}

export function apiClient(baseUrl: string, token: string, projectId: string, spaceId: string): ApiClient {
  return new ApiClient({ baseUrl, fetch, tokens: { token: async () => token }, project: projectId, space: spaceId });
}

export function watch(client: ApiClient, opts: { query?: { provider?: string; resource?: string; tags?: string[] }; lastEventId?: string; maxReconnects?: number } = {}): Watcher {
  const events: WatchEvent[] = [];
  const ctl = new AbortController();
  let last = opts.lastEventId;
  let failed: unknown;
  const done = watchResources(client, {
    signal: ctl.signal,
    ...(opts.query ? { query: opts.query } : {}),
    ...(opts.lastEventId ? { lastEventId: opts.lastEventId } : {}),
    maxReconnects: opts.maxReconnects ?? 0,
    onEvent: (e) => {
      events.push(e);
      if (e.id) last = e.id;
    },
  }).catch((err: unknown) => {
    failed = err;
  });
  return {
    events,
    lastId: () => last,
    error: () => failed,
    until: (pred, message, timeoutMs = 20_000) =>
      waitFor(
        async () => {
          if (failed) throw failed;
          return events.find(pred);
        },
        { timeoutMs, intervalMs: 10, message },
      ),
    async stop() {
      ctl.abort();
      await done;
    },
  };
}
