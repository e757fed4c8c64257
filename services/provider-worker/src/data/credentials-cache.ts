import type { DatabaseCredentials } from "@pragma/contracts";
import type { CredentialsSource } from "./databases";

export interface CredentialsCacheOptions {
  /** How long an answer is reused; 0 turns the cache off (every open asks the registry). */
  ttlMs: number;
  /** False while the registry's project notifications may not be arriving (broker down): no hits, no fills. */
  live: () => boolean;
  now?: () => number;
}

interface Entry {
  at: number;
  value: Promise<DatabaseCredentials[]>;
}

/**
 * A project's database credentials, as the registry last answered them, for at most
 * `ttlMs`. Every event of a database provider opens its pool through them, and a
 * registry answer costs the registry ~1.5 ms of CPU (the project with its databases
 * through Prisma, and the decryption), more than the store spends on a whole apply.
 *
 * Dropped when:
 * - the registry publishes `registry.project.updated.v1` for the project (drop());
 * - the broker connection is re-established, since notifications sent meanwhile are lost
 *   (clear()), and nothing is served or stored while it is down (`live`);
 * - the answer is older than `ttlMs`, which bounds staleness if a notification is lost
 *   (the registry publishes after its commit and only logs a failed publish);
 * - the lookup failed (a failure is never reused).
 *
 * Concurrent opens of one project share one request. A request that began before a
 * drop is not kept after it (the epoch check), so an answer read before a PATCH cannot
 * outlive the PATCH's notification.
 */
export class CredentialsCache {
  private readonly entries = new Map<string, Entry>();
  private epoch = 0;
  private readonly now: () => number;

  constructor(
    private readonly source: CredentialsSource,
    private readonly opts: CredentialsCacheOptions,
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** The wrapped source, for DatabasePools. */
  readonly get: CredentialsSource = (scope) => {
    if (this.opts.ttlMs <= 0 || !this.opts.live()) return this.source(scope);
    const key = keyOf(scope.orgId, scope.projectId);
    const hit = this.entries.get(key);
    if (hit && this.now() - hit.at < this.opts.ttlMs) return hit.value;
    const epoch = this.epoch;
    const entry: Entry = { at: this.now(), value: this.source(scope) };
    this.entries.set(key, entry);
    entry.value.then(
      () => {
        // Dropped (or the connection went) while the registry answered: this answer may predate the change.
        if (this.epoch !== epoch && this.entries.get(key) === entry) this.entries.delete(key);
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.value;
  };

  /** The project changed (its databases, credentials or limits may have). */
  drop(orgId: string, projectId: string): void {
    this.epoch += 1;
    this.entries.delete(keyOf(orgId, projectId));
  }

  clear(): void {
    this.epoch += 1;
    this.entries.clear();
  }
}

function keyOf(orgId: string, projectId: string): string {
  return `${orgId}/${projectId}`;
}
