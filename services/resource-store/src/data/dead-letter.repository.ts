import { historyInsertSql, historyRows } from "./resource-history.repository";
import { deadLetteredEntry } from "../domain/resources/history";
import type { TenantScope } from "@pragma/contracts";
import type { TransitionObserver } from "./transition-tracker";
import type { PrismaClient } from "../generated/prisma/client";
import type { DeadLetterFilter, DeadLetterRecord } from "../domain/dead-letters/model";
import type { DeadLetterRepository, EntryKey } from "../domain/dead-letters/ports";
import { inline, json, roundTrip, withConnection, type Pool } from "./pg";
import { actAsTenant } from "./resource.repository";
import { toDeadLetterRecord, type DeadLetterRow } from "./dead-letter-rows";



/**
 * Raw SQL throughout: the operations that matter here (ON CONFLICT DO NOTHING,
 * DELETE … RETURNING under row locks, a conditional UPDATE of the resource) are
 * single statements whose atomicity is the point. Every statement is tenant-scoped.
 * The ingest runs per entry and goes on `pg` directly, its statements in one round trip;
 * the operator's reads and deletes stay on Prisma. A retry is not here: it takes its
 * entry inside the store transaction that re-queues the resource (StoreTx.takeDeadLetter,
 * through the lifecycle, as apply does).
 */
export class PrismaDeadLetterRepository implements DeadLetterRepository {
  /**
   * onChanged: after each commit that updated resources, which ones (the gateways' cache
   * notifications). onTransition: after each commit, the lifecycle changes it made.
   */
  constructor(
    private readonly prisma: PrismaClient,
    private readonly pool: Pool,
    private readonly onChanged: (scope: TenantScope, resourceIds: Iterable<string>) => void = () => undefined,
    private readonly onTransition: TransitionObserver = () => undefined,
  ) {}

  async ingest(r: DeadLetterRecord): Promise<{ inserted: boolean; resourceFailed: boolean }> {
    assertScope(r.scope);
    return withConnection(this.pool, async (client) => {
      // One round trip. dead_letters first: it is not granted to the tenant role the rest runs as.
      const results = await roundTrip(client, [
          "BEGIN",
          inline(
            `INSERT INTO dead_letters (event_id, org_id, project_id, space_id, resource_id, provider, resource_type, resource_name,
              event_type, payload, error_message, reason, attempt_count, attempts, correlation_id, failed_at, created_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14::jsonb, $15, $16, $17)
            ON CONFLICT (event_id) DO NOTHING`,
            [r.eventId, r.scope.org_id, r.scope.project_id, r.scope.space_id, r.resourceId, r.provider, r.resourceType, r.resourceName, r.eventType,
              json(r.payload), r.errorMessage, r.reason, r.attemptCount, json(r.attempts), r.correlationId, r.failedAt, r.createdAt],
          ),
          actAsTenant(r.scope),
          // Only while the resource still waits on this event: a later event, a result that
          // already arrived, or a user's re-apply all win over a late dead letter.
          inline(
            `UPDATE resources
            SET lifecycle_state = 'failed', error = $5, pending_event_id = NULL, updated_at = $6
            WHERE org_id = $1 AND project_id = $2 AND space_id = $3 AND resource_id = $4 AND pending_event_id = $7
              AND lifecycle_state IN ('pending', 'processing')
            RETURNING (SELECT o.lifecycle_state FROM resources o WHERE o.row_id = resources.row_id) AS was`,
            [r.scope.org_id, r.scope.project_id, r.scope.space_id, r.resourceId, r.errorMessage, r.createdAt, r.eventId],
          ),
          // The resource's history (once per event: a redelivered dead letter is not recorded twice).
          inline(historyInsertSql(1), [historyRows(r.scope, [deadLetteredEntry(r)])]),
          "COMMIT",
        ]);
      const resourceFailed = (results[3]!.rowCount ?? 0) > 0;
      if (resourceFailed) {
        this.onChanged(r.scope, [r.resourceId]);
        // RETURNING's sub-select reads the statement's snapshot: the state before this update.
        this.onTransition(String((results[3]!.rows[0] as { was?: unknown } | undefined)?.was ?? "pending"), "failed");
      }
      return { inserted: (results[1]!.rowCount ?? 0) > 0, resourceFailed };
    });
  }

  async list(scope: TenantScope, filter: DeadLetterFilter): Promise<DeadLetterRecord[]> {
    assertScope(scope);
    const rows = await this.prisma.$queryRaw<DeadLetterRow[]>`
      SELECT * FROM dead_letters
      WHERE org_id = ${scope.org_id} AND project_id = ${scope.project_id} AND space_id = ${scope.space_id}
        AND (${filter.provider ?? null}::text IS NULL OR provider = ${filter.provider ?? null})
        AND (${filter.reason ?? null}::text IS NULL OR reason = ${filter.reason ?? null})
        AND (${filter.resourceType ?? null}::text IS NULL OR resource_type = ${filter.resourceType ?? null})
      ORDER BY failed_at DESC, event_id DESC`;
    return rows.map(toDeadLetterRecord);
  }

  async get(scope: TenantScope, eventId: string): Promise<DeadLetterRecord | null> {
    assertScope(scope);
    const rows = await this.prisma.$queryRaw<DeadLetterRow[]>`
      SELECT * FROM dead_letters
      WHERE org_id = ${scope.org_id} AND project_id = ${scope.project_id} AND space_id = ${scope.space_id} AND event_id = ${eventId}`;
    return rows[0] ? toDeadLetterRecord(rows[0]) : null;
  }

  async entryKeys(scope: TenantScope, filter: DeadLetterFilter): Promise<EntryKey[]> {
    assertScope(scope);
    const rows = await this.prisma.$queryRaw<{ event_id: string; resource_id: string }[]>`
      SELECT event_id, resource_id FROM dead_letters
      WHERE org_id = ${scope.org_id} AND project_id = ${scope.project_id} AND space_id = ${scope.space_id}
        AND (${filter.provider ?? null}::text IS NULL OR provider = ${filter.provider ?? null})
      ORDER BY failed_at, event_id`;
    return rows.map((r) => ({ eventId: r.event_id, resourceId: r.resource_id }));
  }

  async delete(scope: TenantScope, eventId: string): Promise<number> {
    assertScope(scope);
    return this.prisma.$executeRaw`
      DELETE FROM dead_letters
      WHERE org_id = ${scope.org_id} AND project_id = ${scope.project_id} AND space_id = ${scope.space_id} AND event_id = ${eventId}`;
  }

  async deleteMany(scope: TenantScope, filter: DeadLetterFilter): Promise<number> {
    assertScope(scope);
    return this.prisma.$executeRaw`
      DELETE FROM dead_letters
      WHERE org_id = ${scope.org_id} AND project_id = ${scope.project_id} AND space_id = ${scope.space_id}
        AND (${filter.provider ?? null}::text IS NULL OR provider = ${filter.provider ?? null})`;
  }
}

function assertScope(scope: TenantScope): void {
  if (!scope.org_id || !scope.project_id || !scope.space_id) throw new Error("tenant scope is required");
}
