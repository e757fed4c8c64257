import pg from "pg";
import { DATABASE_URL, STORE_SCHEMA } from "./env";

/**
 * Reads the resource store's own `updated_at` of rows that reached a state. This is the
 * timestamp the store wrote in the transaction that made the resource ready (JS clock,
 * taken after the row lock, a few ms before commit), on the same machine as the bench's
 * clock. Polling this is cheap (an index range on (org, project, space, name)) and its
 * frequency does not change the measured latencies, unlike polling GET per resource.
 * Every figure is cross-checked over HTTP (see lifecycle.ts).
 */
export class StoreObserver {
  private pool = new pg.Pool({ connectionString: DATABASE_URL, max: 2 });

  async counts(t: { orgId: string; projectId: string; spaceId: string }, prefix: string) {
    const { rows } = await this.pool.query(
      `SELECT lifecycle_state AS state, count(*)::int AS n, (extract(epoch FROM max(updated_at)) * 1000)::float8 AS last
         FROM ${STORE_SCHEMA}.resources
        WHERE org_id = $1 AND project_id = $2 AND space_id = $3 AND name >= $4 AND name < $5
        GROUP BY lifecycle_state`,
      [t.orgId, t.projectId, t.spaceId, prefix, `${prefix}~`],
    );
    const out: Record<string, { n: number; last: number }> = {};
    for (const r of rows) out[r.state] = { n: r.n, last: r.last };
    return out;
  }

  /** name → updated_at (ms since epoch) of rows in `state`. */
  async times(t: { orgId: string; projectId: string; spaceId: string }, prefix: string, state: string): Promise<Map<string, number>> {
    const { rows } = await this.pool.query(
      `SELECT name, (extract(epoch FROM updated_at) * 1000)::float8 AS t
         FROM ${STORE_SCHEMA}.resources
        WHERE org_id = $1 AND project_id = $2 AND space_id = $3 AND name >= $4 AND name < $5 AND lifecycle_state = $6`,
      [t.orgId, t.projectId, t.spaceId, prefix, `${prefix}~`, state],
    );
    return new Map(rows.map((r) => [r.name as string, r.t as number]));
  }

  /**
   * VACUUM (ANALYZE) of the store's tables, what autovacuum does on any real server; this
   * machine's PostgreSQL runs with autovacuum off, so without it each run would inherit the
   * dead rows of the runs before it (the reference gets a fresh database every run).
   */
  async vacuum() {
    for (const t of ["resources", "outbox_events", "resource_edges", "resource_changes", "request_answers", "resource_history"]) await this.pool.query(`VACUUM (ANALYZE) ${STORE_SCHEMA}.${t}`);
  }

  async close() {
    await this.pool.end();
  }
}
