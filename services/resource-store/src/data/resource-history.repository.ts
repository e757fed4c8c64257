import type { HistoryKind, TenantScope } from "@pragma/contracts";
import type { HistoryEntry, HistoryReader, StoredHistoryEntry } from "../domain/resources/history";
import { inTransaction, json, type NamedStatement, type Pool } from "./pg";
import { actAsTenant } from "./tenant-sql";

/**
 * The one INSERT of history rows (migration 20261205140000_resource_history), for every
 * path that writes them: entries as one JSON parameter, so the statement text is fixed
 * (prepared once) whatever their number. A step already recorded for the same event
 * (a redelivered result or dead letter) is not recorded twice: a unique index and ON CONFLICT
 * DO NOTHING (migration 20261205150000), an index probe whatever the plan. Without a request id, the
 * entry takes its event's correlation id. `when` gates the insert (the create-only path
 * inserts nothing when the resource already existed).
 */
export function historyInsertSql(param: number, when = "true"): string {
  return `INSERT INTO resource_history (org_id, project_id, space_id, resource_id, kind, event_id, request_id, summary, at)
    SELECT x.org_id, x.project_id, x.space_id, x.resource_id, x.kind, x.event_id,
      COALESCE(x.request_id, (SELECT e.correlation_id FROM outbox_events e
        WHERE e.org_id = x.org_id AND e.project_id = x.project_id AND e.space_id = x.space_id AND e.event_id = x.event_id)),
      x.summary, x.at
    FROM jsonb_to_recordset($${param}::jsonb) AS x(org_id text, project_id text, space_id text, resource_id text, kind text,
      event_id text, request_id text, summary text, at timestamptz)
    WHERE (${when})
    ON CONFLICT (org_id, project_id, space_id, resource_id, event_id, kind) WHERE event_id IS NOT NULL DO NOTHING`;
}

/** The JSON parameter of historyInsertSql. */
export function historyRows(scope: TenantScope, entries: readonly HistoryEntry[]): string | null {
  return json(
    entries.map((e) => ({
      ...scope,
      resource_id: e.resourceId,
      kind: e.kind,
      event_id: e.eventId,
      request_id: e.requestId,
      summary: e.summary,
      at: e.at.toISOString(),
    })),
  );
}

export function historyInsert(scope: TenantScope, entries: readonly HistoryEntry[]): NamedStatement {
  return { name: "store.insert-history", text: historyInsertSql(1), values: [historyRows(scope, entries)] };
}

interface HistoryRow {
  seq: string;
  resource_id: string;
  kind: string;
  event_id: string | null;
  request_id: string | null;
  summary: string;
  at: Date;
}

export class PgHistoryReader implements HistoryReader {
  constructor(private readonly pool: Pool) {}

  // The ORDER BY names the table's column: a bare `seq` would be the text alias of the
  // select list, and "9" sorts after "10".
  async list(scope: TenantScope, resourceId: string, limit: number): Promise<StoredHistoryEntry[]> {
    return inTransaction(this.pool, async (client) => {
      await client.query(actAsTenant(scope));
      const res = await client.query<HistoryRow>({
        name: "history.list",
        text: `SELECT seq::text AS seq, resource_id, kind, event_id, request_id, summary, at FROM resource_history
          WHERE org_id = $1 AND project_id = $2 AND space_id = $3 AND resource_id = $4
          ORDER BY resource_history.seq DESC LIMIT $5`,
        values: [scope.org_id, scope.project_id, scope.space_id, resourceId, limit],
      });
      return res.rows.map((r) => ({
        seq: r.seq,
        resourceId: r.resource_id,
        kind: r.kind as HistoryKind,
        eventId: r.event_id,
        requestId: r.request_id,
        summary: r.summary,
        at: r.at,
      }));
    });
  }
}
