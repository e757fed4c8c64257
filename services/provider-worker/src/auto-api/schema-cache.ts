import type { DriverPool } from "../data/databases";
import type { Schema } from "./model";

export interface SchemaCacheOptions {
  /** A schema older than this is re-read before it serves a request (how soon a new column shows in `select`-less reads). */
  revalidateMs: number;
  introspect(driver: DriverPool): Promise<Schema>;
  now?: () => number;
}

interface Entry {
  schema?: Schema;
  /** When the read that produced `schema` started. */
  readAt: number;
  pending?: { startedAt: number; schema: Promise<Schema> };
}

/**
 * The introspected schema of each database, per worker process.
 *
 * Why not LISTEN/event triggers: those need objects (and privileges) in the user's
 * database. Instead the catalogue query runs again when the cached copy is older than
 * `revalidateMs` (one query per database per interval at most, whatever the load), and when
 * a request names a table or column the copy lacks, or the database says a name we used is
 * gone (see auto-api.ts). So `ALTER TABLE … ADD COLUMN` is served without a restart: at
 * once when the new column is named, within `revalidateMs` in every row. Concurrent
 * refreshes of one database share one query.
 */
export class SchemaCache {
  private readonly entries = new Map<string, Entry>();
  private readonly now: () => number;

  constructor(private readonly opts: SchemaCacheOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** When a request began, for refreshAfterMiss. */
  clock(): number {
    return this.now();
  }

  async get(key: string, driver: DriverPool): Promise<Schema> {
    const e = this.entries.get(key);
    if (e?.schema && this.now() - e.readAt < this.opts.revalidateMs) return e.schema;
    return this.refresh(key, driver, -Infinity);
  }

  /**
   * After a miss by a request that began at `since`: a schema read that started after
   * `since` already sees everything the request could have meant, so it is reused (or
   * awaited); otherwise a new read runs. A stream of requests naming unknown columns costs
   * at most one catalogue query each, shared by those that overlap.
   */
  async refreshAfterMiss(key: string, driver: DriverPool, since: number): Promise<Schema> {
    const e = this.entries.get(key);
    if (e?.schema && e.readAt > since) return e.schema;
    return this.refresh(key, driver, since);
  }

  /** The database reported a name we used as missing: forget the copy. */
  invalidate(key: string): void {
    const e = this.entries.get(key);
    if (e) e.readAt = -Infinity;
  }

  private refresh(key: string, driver: DriverPool, since: number): Promise<Schema> {
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { readAt: -Infinity }));
    if (e.pending && e.pending.startedAt > since) return e.pending.schema;
    const entry = e;
    const startedAt = this.now();
    const schema = this.opts.introspect(driver).then(
      (s) => {
        // An older read finishing late must not replace a newer one.
        if (startedAt >= entry.readAt) {
          entry.schema = s;
          entry.readAt = startedAt;
        }
        if (entry.pending?.schema === schema) entry.pending = undefined;
        return s;
      },
      (err: unknown) => {
        if (entry.pending?.schema === schema) entry.pending = undefined;
        throw err;
      },
    );
    entry.pending = { startedAt, schema };
    return schema;
  }
}
