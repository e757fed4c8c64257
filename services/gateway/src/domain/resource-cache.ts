import type { ChangedResource, TenantScope } from "@pragma/contracts";

interface Entry {
  scopeKey: string;
  /** Which fetch may fill this entry: a fetch that began before a change is not. */
  ticket: number;
  /** The serialized answer; undefined while its fetch is in flight. */
  body?: string;
  expiresAt: number;
}

/** What a fetch hands back to fill(): the entry it may fill, if nothing changed meanwhile. */
export interface Ticket {
  key: string;
  ticket: number;
}

export interface ResourceCacheOptions {
  /** How long an answer may be served without a change notification having dropped it. 0 turns the cache off. */
  ttlMs: number;
  maxEntries: number;
  /** False while the change notifications may not be arriving (broker connection down): no hits, no fills. */
  live: () => boolean;
  now?: () => number;
}

const scopeKeyOf = (org: string, project: string, space: string) => `${org}\u0000${project}\u0000${space}`;

/**
 * The gateway's cache of `GET /resources/{id}` answers (without `reveal`), per tenant
 * scope and resource id, kept as the JSON it sends. An entry is dropped when
 * - the store says the resource changed (ChangeFeed → `resources.resource.changed.v1`,
 *   which every gateway process receives on a queue of its own): invalidate();
 * - a write to the same scope passes through this process (apply, delete, retry): dropScope(),
 *   so a client that wrote through this process reads its write here at once;
 * - it is older than ttlMs (the bound on staleness when a notification is lost);
 * - the broker connection drops (clear(), and nothing is served until it is back).
 *
 * A fetch takes a ticket before it asks the store and fills the entry only if that ticket
 * is still the entry's: any drop in between (a change notification that overtook the
 * answer) leaves the entry empty, so an answer read before a change is never kept after it.
 */
export class ResourceCache {
  private readonly entries = new Map<string, Entry>();
  private readonly byScope = new Map<string, Set<string>>();
  private nextTicket = 1;
  private readonly now: () => number;

  constructor(private readonly opts: ResourceCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  get enabled(): boolean {
    return this.opts.ttlMs > 0 && this.opts.live();
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached JSON of this resource, if any is fresh. */
  get(scope: TenantScope, resourceId: string): string | undefined {
    if (!this.enabled) return undefined;
    const key = scopeKeyOf(scope.org_id, scope.project_id, scope.space_id) + "\u0000" + resourceId;
    const e = this.entries.get(key);
    if (e?.body === undefined) return undefined;
    if (e.expiresAt <= this.now()) {
      this.remove(key, e);
      return undefined;
    }
    return e.body;
  }

  /** Before asking the store: claims the entry for this fetch (replacing any answer it held). */
  begin(scope: TenantScope, resourceId: string): Ticket | undefined {
    if (!this.enabled) return undefined;
    const scopeKey = scopeKeyOf(scope.org_id, scope.project_id, scope.space_id);
    const key = scopeKey + "\u0000" + resourceId;
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    else if (this.entries.size >= this.opts.maxEntries) {
      // Map iterates in insertion order: the first entry is the oldest.
      const first = this.entries.entries().next();
      if (!first.done) this.remove(first.value[0], first.value[1]);
    }
    const ticket = this.nextTicket++;
    this.entries.set(key, { scopeKey, ticket, expiresAt: 0 });
    let keys = this.byScope.get(scopeKey);
    if (!keys) this.byScope.set(scopeKey, (keys = new Set()));
    keys.add(key);
    return { key, ticket };
  }

  /** After the store answered: keeps the answer unless the entry was dropped or claimed again since begin(). */
  fill(t: Ticket | undefined, body: string): void {
    if (!t || !this.enabled) return;
    const e = this.entries.get(t.key);
    if (!e || e.ticket !== t.ticket || e.body !== undefined) return;
    e.body = body;
    e.expiresAt = this.now() + this.opts.ttlMs;
  }

  /** The fetch failed (or its answer is not to be kept): frees the entry it claimed, unless claimed again since. */
  abandon(t: Ticket | undefined): void {
    if (!t) return;
    const e = this.entries.get(t.key);
    if (e && e.ticket === t.ticket && e.body === undefined) this.remove(t.key, e);
  }

  /** A change notification from the store. */
  invalidate(resources: readonly ChangedResource[]): void {
    for (const r of resources) {
      const key = scopeKeyOf(r.org_id, r.project_id, r.space_id) + "\u0000" + r.resource_id;
      const e = this.entries.get(key);
      if (e) this.remove(key, e);
    }
  }

  /** Runs a write to this scope (apply, delete, retry) and then drops the scope's entries, whatever its outcome: read-your-writes through this process. */
  async afterWrite<T>(scope: TenantScope, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } finally {
      this.dropScope(scope);
    }
  }

  /** A write to this scope passed through this process. */
  dropScope(scope: TenantScope): void {
    const scopeKey = scopeKeyOf(scope.org_id, scope.project_id, scope.space_id);
    const keys = this.byScope.get(scopeKey);
    if (!keys) return;
    for (const key of keys) this.entries.delete(key);
    this.byScope.delete(scopeKey);
  }

  clear(): void {
    this.entries.clear();
    this.byScope.clear();
  }

  private remove(key: string, e: Entry): void {
    this.entries.delete(key);
    const keys = this.byScope.get(e.scopeKey);
    if (keys) {
      keys.delete(key);
      if (keys.size === 0) this.byScope.delete(e.scopeKey);
    }
  }
}
