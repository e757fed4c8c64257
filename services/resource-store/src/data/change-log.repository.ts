import type { TenantScope } from "@pragma/contracts";
import type { ChangeLog, ChangesQuery, ChangesRead } from "../domain/resources/ports";
import { inTransaction, type Pool } from "./pg";
import { RESOURCE_COLUMNS, toRecord, type ResourceRow } from "./resource-rows";
import { actAsTenant } from "./tenant-sql";

/**
 * The change log behind the watch (migration 20261205090000_resource_changes): rows
 * written by triggers on every insert, update and delete of a resource; read here per
 * tenant from a position, pruned past the retention.
 */
export class PgChangeLog implements ChangeLog {
  constructor(private readonly pool: Pool) {}

  async changesSince(scope: TenantScope, q: ChangesQuery): Promise<ChangesRead> {
    return inTransaction(this.pool, async (client) => {
      // One snapshot for the horizon and the rows: REPEATABLE READ makes the whole
      // transaction see what its first statement saw.
      await client.query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY");
      await client.query(actAsTenant(scope));
      const head = await client.query<{ horizon: string; floor: string; current: string }>({
        name: "watch.head",
        text: `SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS horizon, (SELECT floor::text FROM resource_changes_floor) AS floor,
          pg_snapshot_xmax(pg_current_snapshot())::text AS current`,
      });
      const { horizon, floor, current } = head.rows[0]!;
      if (q.after === null) return { horizon, reset: false, rows: [] };
      const after = BigInt(q.after);
      // Past the floor changes may have been pruned; past the current transaction id the
      // position is not one of this database's (another deployment, a restored backup).
      if (after <= BigInt(floor) || after > BigInt(current)) return { horizon, reset: true, rows: [] };
      const values: unknown[] = [scope.org_id, scope.project_id, scope.space_id, q.after, q.limit + 1];
      const filters: string[] = [];
      if (q.provider !== undefined) filters.push(`AND provider = $${values.push(q.provider)}`);
      if (q.resourceType !== undefined) filters.push(`AND resource_type = $${values.push(q.resourceType)}`);
      const res = await client.query<ResourceRow & { c_resource_id: string; c_provider: string; c_resource_type: string; c_name: string; at: string }>({
        text: `SELECT c.resource_id AS c_resource_id, c.provider AS c_provider, c.resource_type AS c_resource_type, c.name AS c_name, c.at::text AS at,
            ${RESOURCE_COLUMNS.split(",").map((col) => `r.${col.trim()}`).join(", ")}
          FROM (SELECT resource_id, provider, resource_type, (array_agg(name ORDER BY change_xid DESC))[1] AS name, max(change_xid) AS at
                FROM resource_changes
                WHERE org_id = $1 AND project_id = $2 AND space_id = $3 AND change_xid >= $4::xid8 ${filters.join(" ")}
                GROUP BY resource_id, provider, resource_type
                ORDER BY at LIMIT $5) c
          LEFT JOIN resources r ON r.org_id = $1 AND r.project_id = $2 AND r.space_id = $3 AND r.resource_id = c.resource_id
          ORDER BY c.at`,
        values,
      });
      const more = res.rows.length > q.limit;
      const rows = res.rows.slice(0, q.limit).map((row) => ({
        resourceId: row.c_resource_id,
        at: row.at,
        // A row of another type under the same id (deleted and re-created as another type
        // cannot happen: the id names the type) or a missing row: the resource is gone.
        record: row.row_id === null ? null : toRecord(row),
        deleted: { provider: row.c_provider, resourceType: row.c_resource_type, name: row.c_name },
      }));
      // A page cut short stops at its last change (inclusive: the next read repeats that
      // transaction's rows, which the watcher drops as already sent).
      const last = rows[rows.length - 1];
      return { horizon: more && last ? minXid(last.at, horizon) : horizon, reset: false, rows, more };
    });
  }

  /** Deletes changes older than `before`, at most `limit`; raises the floor to the newest one deleted (a position at or below it must re-list). */
  async prune(before: Date, limit: number): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      const res = await client.query<{ n: string }>({
        name: "watch.prune",
        text: `WITH gone AS (
            DELETE FROM resource_changes WHERE ctid IN (SELECT ctid FROM resource_changes WHERE changed_at < $1 LIMIT $2) RETURNING change_xid),
          raised AS (UPDATE resource_changes_floor SET floor = greatest(floor, (SELECT max(change_xid) FROM gone))
            WHERE EXISTS (SELECT 1 FROM gone) RETURNING 1)
          SELECT (SELECT count(*) FROM gone)::text AS n, (SELECT count(*) FROM raised) AS raised`,
        values: [before, limit],
      });
      return Number(res.rows[0]?.n ?? 0);
    });
  }
}

function minXid(a: string, b: string): string {
  return BigInt(a) < BigInt(b) ? a : b;
}
