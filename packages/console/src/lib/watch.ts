import { watchResources, type WatchEvent as CliWatchEvent } from "@pragma/cli-src/watch";
import { openStream } from "./api";

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

/**
 * `sync`: the stream is open from a fresh position (list now, so no change falls between the
 * list and the stream); `reset`: the position fell out of the server's retention (list again).
 * After a reconnect the stream resumes where it was, so neither comes.
 */
export type WatchEvent = { type: "changed" | "deleted"; resource: Resource } | { type: "reset" } | { type: "sync" };

export interface WatchFilter {
  provider?: string;
  resource?: string;
  tags?: string[];
}

/**
 * Follows GET /resources/watch until `signal` aborts: the CLI's watchResources (parsing,
 * Last-Event-ID resumption, backoff) over the console's session (EventSource cannot send an
 * Authorization header, so the stream is read with fetch). An error a retry cannot fix (403,
 * 404) ends the watch; the page keeps what it listed.
 */
export async function watch(filter: WatchFilter, signal: AbortSignal, onEvent: (e: WatchEvent) => void): Promise<void> {
  try {
    await watchResources(
      { stream: (path, opts) => openStream(path, opts) },
      {
        query: filter,
        signal,
        onEvent: (e: CliWatchEvent) => {
          if (e.type === "changed" || e.type === "deleted") onEvent({ type: e.type, resource: e.resource as unknown as Resource });
          else onEvent({ type: e.type });
        },
      },
    );
  } catch (err) {
    console.warn("watch ended:", err);
  }
}
