import { createParser, type EventSourceMessage } from "eventsource-parser";
import { authHeaders, token, withQuery } from "./api";

export interface Resource {
  id: string;
  provider: string;
  resource: string;
  name: string;
  lifecycle_state: string;
  error: string | null;
  config: Record<string, unknown>;
  outputs: Record<string, unknown> | null;
  dependencies: { provider: string; resource: string; name: string }[];
  owner_references?: { provider: string; resource: string; name: string }[];
  tags: string[] | null;
  provisioned?: boolean;
  created_at: string;
  updated_at: string;
  project_id?: string;
  space_id?: string;
}

export type WatchEvent = { type: "changed" | "deleted"; resource: Resource } | { type: "reset" } | { type: "open" };

export interface WatchFilter {
  provider?: string;
  resource?: string;
  tags?: string[];
}

/**
 * Follows GET /resources/watch until `signal` aborts. EventSource cannot send an
 * Authorization header, so this reads the stream with fetch and eventsource-parser, and
 * reconnects with Last-Event-ID (nothing missed meanwhile). `reset` means the position
 * fell out of the server's retention: the caller lists again.
 */
export async function watch(filter: WatchFilter, signal: AbortSignal, onEvent: (e: WatchEvent) => void): Promise<void> {
  let lastEventId: string | undefined;
  let failures = 0;
  let forceToken = false;
  while (!signal.aborted) {
    try {
      const tok = await token(forceToken);
      forceToken = false;
      const res = await fetch(withQuery("/resources/watch", { provider: filter.provider, resource: filter.resource, tags: filter.tags }), {
        headers: { ...authHeaders(tok), accept: "text/event-stream", ...(lastEventId ? { "last-event-id": lastEventId } : {}) },
        signal,
      });
      if (res.status === 401) {
        forceToken = true;
        throw new Error("token expired");
      }
      if (!res.ok || !res.body) throw new Error(`watch answered ${res.status}`);
      onEvent({ type: "open" });
      const parser = createParser({
        onEvent: (m: EventSourceMessage) => {
          if (m.id) lastEventId = m.id;
          failures = 0;
          if (m.event === "changed" || m.event === "deleted") onEvent({ type: m.event, resource: JSON.parse(m.data) as Resource });
          else if (m.event === "reset") onEvent({ type: "reset" });
        },
      });
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        parser.feed(value);
      }
    } catch {
      if (signal.aborted) return;
      failures++;
    }
    // The server closes streams on shutdown and token expiry: back off a little and resume.
    await sleep(Math.min(250 * 2 ** Math.min(failures, 5), 5_000), signal);
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
