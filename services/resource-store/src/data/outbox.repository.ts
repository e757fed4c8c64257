import type { OutboxBatch as GenericOutboxBatch, OutboxSource } from "@pragma/messaging";
import { execute, inTransaction, roundTrip, withConnection, type Pool } from "./pg";
import { RELAY_ROLE } from "./tenant-sql";

export interface ClaimedEvent {
  event_id: string;
  provider: string;
  resource_id: string;
  org_id: string;
  project_id: string;
  space_id: string;
  correlation_id: string | null;
  payload: Record<string, unknown>;
}

/** The batch shape the shared relay (@pragma/messaging's OutboxRelay) works on. */
export type OutboxBatch = GenericOutboxBatch<ClaimedEvent>;

export interface OutboxBacklog {
  /** Events committed and not yet published (held events wait for dependencies, not for the relay, and are not counted). */
  pending: number;
  /** Age of the oldest of them; 0 when there is none. */
  oldestAgeSeconds: number;
}

/**
 * Claims unpublished events with FOR UPDATE SKIP LOCKED inside one transaction, so
 * any number of store replicas can relay at once without publishing an event twice
 * (except after a crash between publish and mark, which consumers dedupe).
 */
export class OutboxRepository implements OutboxSource<ClaimedEvent> {
  constructor(private readonly pool: Pool) {}

  async withBatch<T>(limit: number, fn: (batch: OutboxBatch) => Promise<T>): Promise<T> {
    // Two round trips per batch: BEGIN, the role and the claim together, then the marks
    // with COMMIT. The relay works across tenants, so it runs as the one role whose policy
    // shows every tenant's released events (and nothing of the resources table).
    return withConnection(this.pool, async (client) => {
      const claimed = await roundTrip(client, [
        "BEGIN",
        `SET LOCAL ROLE ${RELAY_ROLE}`,
        execute(client, {
          name: "outbox.claim",
          text: `SELECT event_id, provider, resource_id, org_id, project_id, space_id, correlation_id, payload
            FROM outbox_events
            WHERE status = 'pending'
            ORDER BY event_id
            LIMIT $1
            FOR UPDATE SKIP LOCKED`,
          values: [limit],
        }),
      ]);
      const events = claimed[claimed.length - 1]!.rows as ClaimedEvent[];
      const marks: string[] = [];
      const result = await fn({
        events,
        async markPublished(ids) {
          if (ids.length === 0) return;
          marks.push(execute(client, { name: "outbox.mark-published", text: `UPDATE outbox_events SET status = 'published', published_at = now() WHERE event_id = ANY($1::text[])`, values: [ids] }));
        },
        async markFailed(ids, error) {
          if (ids.length === 0) return;
          marks.push(execute(client, { name: "outbox.mark-failed", text: `UPDATE outbox_events SET attempts = attempts + 1, last_error = $2 WHERE event_id = ANY($1::text[])`, values: [ids, error] }));
        },
      });
      await roundTrip(client, [...marks, "COMMIT"]);
      return result;
    });
  }

  /** For the outbox metrics (sampled): both numbers from the pending events' partial index in one statement. */
  async backlog(): Promise<OutboxBacklog> {
    return inTransaction(this.pool, async (client) => {
      await client.query(`SET LOCAL ROLE ${RELAY_ROLE}`);
      const res = await client.query<{ pending: string; oldest: number | null }>({
        name: "outbox.backlog",
        text: `SELECT count(*) AS pending,
            extract(epoch FROM now() - (SELECT created_at FROM outbox_events WHERE status = 'pending' ORDER BY event_id LIMIT 1))::float8 AS oldest
          FROM outbox_events WHERE status = 'pending'`,
      });
      const row = res.rows[0];
      return { pending: Number(row?.pending ?? 0), oldestAgeSeconds: Math.max(0, row?.oldest ?? 0) };
    });
  }

  /**
   * Deletes up to `limit` published events with ids below `beforeId` (ids start with their
   * creation time, so this walks the primary key from its oldest end); returns how many.
   * A resource still pending on such an event (its result arriving after the retention)
   * would record its own config, not the resolved one, as what it last applied.
   */
  async prunePublished(beforeId: string, limit: number): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      await client.query(`SET LOCAL ROLE ${RELAY_ROLE}`);
      const res = await client.query({
        name: "outbox.prune",
        text: `DELETE FROM outbox_events WHERE event_id IN (
            SELECT event_id FROM outbox_events WHERE event_id < $1 AND status = 'published' ORDER BY event_id LIMIT $2)`,
        values: [beforeId, limit],
      });
      return res.rowCount ?? 0;
    });
  }
}
