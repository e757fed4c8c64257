import type { ChangedResource, ResourceChangesPage, TenantScope } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { Logger } from "@pragma/logger";

export interface WatchFilter {
  provider?: string;
  resource?: string;
  tags?: string[];
}

/** Reads the store's change log (resources.resource.changes.v1). */
export type FetchChanges = (scope: TenantScope, after: string | null, filter: WatchFilter) => Promise<ResourceChangesPage>;

/** Where a stream's frames go (an HTTP response in production). */
export interface WatchSink {
  /**
   * Writes SSE frames (a Buffer when the same bytes go to many streams: encoded once, shared);
   * false when the client is too far behind and the stream must end.
   */
  write(frames: string | Buffer): boolean;
  end(): void;
}

export interface WatchHubOptions {
  maxStreamsPerOrg: number;
  heartbeatMs: number;
  pollMs: number;
}

interface Stream {
  orgId: string;
  group: Group;
  /** Every change below this position was sent (or the client said it had it). */
  position: string;
  /** Changes at or above `position` already sent: resource id → its change position. */
  sent: Map<string, bigint>;
  sink: WatchSink;
  closed: boolean;
  expiry?: NodeJS.Timeout;
}

interface Group {
  key: string;
  scopeKey: string;
  scope: TenantScope;
  filter: WatchFilter;
  streams: Set<Stream>;
  inFlight: boolean;
  dirty: boolean;
}

const scopeKeyOf = (s: { org_id: string; project_id: string; space_id: string }) => `${s.org_id}\u0000${s.project_id}\u0000${s.space_id}`;
const big = (p: string) => BigInt(p);

/** One SSE frame; `data` is JSON on one line (JSON.stringify writes no newline). */
export function sseFrame(event: string, data: unknown, id?: string): string {
  return `${id === undefined ? "" : `id: ${id}\n`}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

/**
 * The gateway's fan-out for GET /resources/watch (api.md §8). Streams with the same scope
 * and filters form a group, and a group reads the store's change log once for all of them,
 * from the oldest of their positions: when the store's change notification names its scope
 * (within ~10 ms of the commit), every `pollMs` in case a notification was lost (they are
 * best-effort), and again at once while a page comes back full. Each stream gets the
 * changes at or above its own position that it was not sent yet, so a stream that joined
 * with an older Last-Event-ID catches up without the others seeing anything twice.
 * A position is the store's (a transaction horizon), so it means the same to every gateway.
 */
export class WatchHub {
  private readonly groups = new Map<string, Group>();
  private readonly byScope = new Map<string, Set<Group>>();
  private readonly perOrg = new Map<string, number>();
  private readonly timers: NodeJS.Timeout[] = [];
  private closed = false;

  constructor(
    private readonly fetchChanges: FetchChanges,
    private readonly opts: WatchHubOptions,
    private readonly logger: Logger,
  ) {
    this.timers.push(setInterval(() => this.pollAll(), opts.pollMs).unref());
    this.timers.push(setInterval(() => this.heartbeat(), opts.heartbeatMs).unref());
  }

  /**
   * Opens a stream: from `lastEventId` (a position an earlier stream sent) or, without one,
   * from now (the first frame, `event: sync`, carries the position). Refuses beyond the
   * org's cap with 429. `expiresAt` (ms): the stream ends then (the token it was opened with expires).
   */
  async open(scope: TenantScope, filter: WatchFilter, lastEventId: string | null, sink: WatchSink, expiresAt?: number): Promise<() => void> {
    if (this.closed) throw new AppError("UNAVAILABLE", "The gateway is shutting down");
    const open = this.perOrg.get(scope.org_id) ?? 0;
    if (open >= this.opts.maxStreamsPerOrg) {
      throw new AppError("RATE_LIMITED", `Too many watch streams for this organization (at most ${this.opts.maxStreamsPerOrg} per gateway process)`);
    }
    this.perOrg.set(scope.org_id, open + 1);
    let stream: Stream | undefined;
    try {
      let position = lastEventId;
      if (position === null) {
        position = (await this.fetchChanges(scope, null, filter)).position;
        sink.write(sseFrame("sync", { position }, position));
      }
      const group = this.groupFor(scope, filter);
      stream = { orgId: scope.org_id, group, position, sent: new Map(), sink, closed: false };
      if (expiresAt !== undefined) {
        stream.expiry = setTimeout(() => this.close(stream!), Math.max(0, expiresAt - Date.now()));
        stream.expiry.unref();
      }
      group.streams.add(stream);
      if (lastEventId !== null) this.run(group);
    } catch (err) {
      this.release(scope.org_id);
      throw err;
    }
    const s = stream;
    return () => this.close(s, false);
  }

  /** The store's change notification: re-read the groups of the scopes it names. */
  notify(changed: readonly ChangedResource[]): void {
    const seen = new Set<string>();
    for (const c of changed) {
      const key = scopeKeyOf(c);
      if (seen.has(key)) continue;
      seen.add(key);
      for (const g of this.byScope.get(key) ?? []) this.run(g);
    }
  }

  /** After a broker reconnect (notifications may have been lost meanwhile): re-read every group. */
  pollAll(): void {
    for (const g of this.groups.values()) this.run(g);
  }

  /** Ends every stream (their clients resume elsewhere with Last-Event-ID) and stops the timers. */
  closeAll(): void {
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    for (const g of [...this.groups.values()]) for (const s of [...g.streams]) this.close(s);
  }

  private groupFor(scope: TenantScope, filter: WatchFilter): Group {
    const scopeKey = scopeKeyOf(scope);
    const normalized: WatchFilter = {
      ...(filter.provider !== undefined ? { provider: filter.provider } : {}),
      ...(filter.resource !== undefined ? { resource: filter.resource } : {}),
      ...(filter.tags?.length ? { tags: [...new Set(filter.tags)].sort() } : {}),
    };
    const key = `${scopeKey}\u0000${JSON.stringify(normalized)}`;
    let g = this.groups.get(key);
    if (!g) {
      g = { key, scopeKey, scope, filter: normalized, streams: new Set(), inFlight: false, dirty: false };
      this.groups.set(key, g);
      let set = this.byScope.get(scopeKey);
      if (!set) this.byScope.set(scopeKey, (set = new Set()));
      set.add(g);
    }
    return g;
  }

  /** Reads the group's changes, one read in flight at a time; a request meanwhile reads once more after it. */
  private run(g: Group): void {
    if (g.inFlight) {
      g.dirty = true;
      return;
    }
    if (g.streams.size === 0) return;
    g.inFlight = true;
    g.dirty = false;
    let from = "";
    for (const s of g.streams) if (from === "" || big(s.position) < big(from)) from = s.position;
    this.fetchChanges(g.scope, from, g.filter)
      .then((page) => {
        this.deliver(g, from, page);
        if (page.more) g.dirty = true;
      })
      .catch((err: unknown) => this.logger.warn({ err: { message: (err as Error).message }, streams: g.streams.size }, "watch: reading changes failed; retrying at the next poll"))
      .finally(() => {
        g.inFlight = false;
        if (g.streams.size === 0) this.dropGroup(g);
        else if (g.dirty && !this.closed) setImmediate(() => this.run(g));
      });
  }

  private deliver(g: Group, from: string, page: ResourceChangesPage): void {
    // Serialised once for every stream of the group (hundreds may watch one scope).
    const changes = page.changes.map(({ change, at }) => ({
      id: change.resource.id,
      at,
      atBig: big(at),
      body: `event: ${change.kind}\ndata: ${JSON.stringify(change.resource)}\n\n`,
    }));
    const pageBig = big(page.position);
    // Streams at the same position that are sent the same changes get the same bytes: built
    // and encoded once per page, shared by every socket (hundreds of streams on one scope).
    const shared = new Map<string, Buffer>();
    for (const s of [...g.streams]) {
      if (s.closed) continue;
      if (page.reset) {
        // Only the streams at the position the store refused are stale; the others read again.
        if (s.position !== from) {
          g.dirty = true;
          continue;
        }
        s.position = page.position;
        s.sent.clear();
        if (!s.sink.write(sseFrame("reset", { position: page.position }, page.position))) this.close(s);
        continue;
      }
      const posBig = big(s.position);
      const picked: number[] = [];
      for (let i = 0; i < changes.length; i++) {
        const c = changes[i]!;
        if (c.atBig < posBig || s.sent.get(c.id) === c.atBig) continue;
        s.sent.set(c.id, c.atBig);
        picked.push(i);
      }
      const next = pageBig > posBig ? page.position : s.position;
      if (picked.length > 0) {
        const key = `${s.position}:${picked.length === changes.length ? "*" : picked.join(",")}`;
        let bytes = shared.get(key);
        if (!bytes) {
          // Every frame but the last names the position the stream had: a client cut off in
          // the middle resumes from there and gets the rest (and perhaps a repeat of a change).
          bytes = Buffer.from(picked.map((idx, i) => `id: ${i === picked.length - 1 ? next : s.position}\n${changes[idx]!.body}`).join(""));
          shared.set(key, bytes);
        }
        // One write per stream per page: a socket write is the costly part with many streams.
        if (!s.sink.write(bytes)) {
          this.close(s);
          continue;
        }
      }
      s.position = next;
      if (pageBig > posBig) for (const [id, at] of s.sent) if (at < pageBig) s.sent.delete(id);
    }
  }

  private heartbeat(): void {
    for (const g of this.groups.values()) for (const s of [...g.streams]) if (!s.sink.write(": heartbeat\n\n")) this.close(s);
  }

  private close(s: Stream, end = true): void {
    if (s.closed) return;
    s.closed = true;
    if (s.expiry) clearTimeout(s.expiry);
    const g = s.group;
    g.streams.delete(s);
    if (g.streams.size === 0 && !g.inFlight) this.dropGroup(g);
    this.release(s.orgId);
    if (end) s.sink.end();
  }

  private dropGroup(g: Group): void {
    if (this.groups.get(g.key) === g) this.groups.delete(g.key);
    const set = this.byScope.get(g.scopeKey);
    set?.delete(g);
    if (set?.size === 0) this.byScope.delete(g.scopeKey);
  }

  private release(orgId: string): void {
    const n = (this.perOrg.get(orgId) ?? 1) - 1;
    if (n <= 0) this.perOrg.delete(orgId);
    else this.perOrg.set(orgId, n);
  }
}
