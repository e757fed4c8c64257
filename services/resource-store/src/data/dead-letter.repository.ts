import type { DeadLetterAttempt, DeadLetterReason, EventType, LifecycleState, TenantScope } from "@pragma/contracts";
import { TransitionTracker, type TransitionObserver } from "./transition-tracker";
import type { PrismaClient } from "../generated/prisma/client";
import type { DeadLetterFilter, DeadLetterRecord, NewOutboxEvent, RequeueTarget } from "../domain/dead-letters/model";
import type { DeadLetterRepository, EntryKey, PlannedRequeue, RequeueTx } from "../domain/dead-letters/ports";
import type { QueryResultRow } from "pg";
import { inline, json, roundTrip, withConnection, type Pool, type PoolClient } from "./pg";
import { actAsTenant, type ResourceRow } from "./resource.repository";


interface Row {
  event_id: string;
  org_id: string;
  project_id: string;
  space_id: string;
  resource_id: string;
  provider: string;
  resource_type: string;
  resource_name: string;
  event_type: string;
  payload: Record<string, unknown>;
  error_message: string;
  reason: string;
  attempt_count: number;
  attempts: DeadLetterAttempt[];
  correlation_id: string | null;
  failed_at: Date;
  created_at: Date;
}

/**
 * Raw SQL throughout: the operations that matter here (ON CONFLICT DO NOTHING,
 * DELETE … RETURNING under row locks, a conditional UPDATE of the resource) are
 * single statements whose atomicity is the point. Every statement is tenant-scoped.
 * The two that run per entry (ingest, and requeue for every retry) go on `pg` directly
 * with their statements batched per round trip, as the resources repository does (through
 * Prisma's interactive transactions a retry-all of 10,000 entries took 126 s); the
 * operator's reads and deletes stay on Prisma.
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
    const rows = await this.prisma.$queryRaw<Row[]>`
      SELECT * FROM dead_letters
      WHERE org_id = ${scope.org_id} AND project_id = ${scope.project_id} AND space_id = ${scope.space_id}
        AND (${filter.provider ?? null}::text IS NULL OR provider = ${filter.provider ?? null})
      ORDER BY failed_at DESC, event_id DESC`;
    return rows.map(toRecord);
  }

  async get(scope: TenantScope, eventId: string): Promise<DeadLetterRecord | null> {
    assertScope(scope);
    const rows = await this.prisma.$queryRaw<Row[]>`
      SELECT * FROM dead_letters
      WHERE org_id = ${scope.org_id} AND project_id = ${scope.project_id} AND space_id = ${scope.space_id} AND event_id = ${eventId}`;
    return rows[0] ? toRecord(rows[0]) : null;
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

  /**
   * Two round trips whatever the chunk's size: BEGIN, the entries' and then (as the tenant)
   * the resources' row locks; then the entries' DELETE (as the table's owner again), the
   * events' INSERT, the resources' UPDATE and COMMIT. Retry-all of 10,000 entries, one
   * transaction of three round trips per entry, took 40-116 s (bench/README.md).
   */
  async requeueMany(
    scope: TenantScope,
    keys: readonly EntryKey[],
    plan: (entries: DeadLetterRecord[], targets: ReadonlyMap<string, RequeueTarget>) => PlannedRequeue[],
  ): Promise<number> {
    assertScope(scope);
    if (keys.length === 0) return 0;
    const scopeValues = [scope.org_id, scope.project_id, scope.space_id];
    return withConnection(this.pool, async (client) => {
      // A throw anywhere below rolls the chunk back (withConnection).
      const locked = await roundTrip(client, [
        "BEGIN",
        inline(
          `SELECT * FROM dead_letters WHERE org_id = $1 AND project_id = $2 AND space_id = $3 AND event_id = ANY($4::text[])
          ORDER BY failed_at, event_id FOR UPDATE`,
          [...scopeValues, keys.map((k) => k.eventId)],
        ),
        actAsTenant(scope),
        inline(
          `SELECT x.* FROM unnest($4::text[]) AS ids(id) CROSS JOIN LATERAL (
            SELECT resource_id, provider, resource_type, name, config, applied_config, outputs, provisioned, lifecycle_state, pending_event_id
            FROM resources r WHERE r.org_id = $1 AND r.project_id = $2 AND r.space_id = $3 AND r.resource_id = ids.id FOR UPDATE OF r OFFSET 0) x`,
          [...scopeValues, [...new Set(keys.map((k) => k.resourceId))].sort()],
        ),
      ]);
      const entries = (locked[1]!.rows as Row[]).map(toRecord);
      const targets = new Map((locked[3]!.rows as TargetRow[]).map((r) => [r.resource_id, toTarget(r)]));
      const picked = plan(entries, targets);
      const lockedIds = new Set(entries.map((e) => e.eventId));
      const stray = picked.find((p) => !lockedIds.has(p.entryId));
      if (stray) throw new Error(`requeueMany: ${stray.entryId} is not among the locked entries`);
      if (picked.length === 0) {
        await roundTrip(client, ["COMMIT"]);
        return 0;
      }
      const values = picked.map(({ event: e }) =>
        inline(`($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, 'pending', $13)`, [
          e.eventId, e.scope.org_id, e.scope.project_id, e.scope.space_id, e.resourceId, e.eventType, e.provider, e.resourceType, e.resourceName,
          json(e.payload), json(e.previousConfig), e.correlationId, e.createdAt,
        ]),
      );
      await roundTrip(client, [
        // dead_letters is not granted to the tenant role: back to the owner for it.
        "SET LOCAL ROLE NONE",
        inline(`DELETE FROM dead_letters WHERE org_id = $1 AND project_id = $2 AND space_id = $3 AND event_id = ANY($4::text[])`, [
          ...scopeValues,
          picked.map((p) => p.entryId),
        ]),
        actAsTenant(scope),
        `INSERT INTO outbox_events (event_id, org_id, project_id, space_id, resource_id, event_type, provider, resource_type, resource_name,
          payload, previous_config, correlation_id, status, created_at) VALUES ${values.join(",\n")}`,
        inline(
          `UPDATE resources r SET lifecycle_state = 'pending', pending_event_id = v.event_id, error = NULL, updated_at = v.at::timestamptz
          FROM unnest($4::text[], $5::text[], $6::text[]) AS v(resource_id, event_id, at)
          WHERE r.org_id = $1 AND r.project_id = $2 AND r.space_id = $3 AND r.resource_id = v.resource_id`,
          [...scopeValues, picked.map((p) => p.event.resourceId), picked.map((p) => p.event.eventId), picked.map((p) => p.event.createdAt.toISOString())],
        ),
        "COMMIT",
      ]);
      this.onChanged(scope, picked.map((p) => p.event.resourceId));
      for (const p of picked) this.onTransition(targets.get(p.event.resourceId)?.lifecycleState ?? "none", "pending");
      return picked.length;
    });
  }

  async requeue<T>(fn: (tx: RequeueTx) => Promise<T>): Promise<T> {
    return withConnection(this.pool, async (client) => {
      const tx = new PgRequeueTx(client);
      const result = await fn(tx);
      await tx.commit();
      for (const c of tx.changed) this.onChanged(c.scope, [c.resourceId]);
      tx.transitions.report(this.onTransition);
      return result;
    });
  }
}

/**
 * Three round trips: BEGIN with the DELETE … RETURNING of the entry; the tenant role and
 * scope with the resource's lock; the event, the resource update and COMMIT together.
 */
class PgRequeueTx implements RequeueTx {
  private held: string[] = ["BEGIN"];
  /** Resources marked pending: told to the gateways after COMMIT (the feed merges and dedupes them). */
  readonly changed: { scope: TenantScope; resourceId: string }[] = [];
  readonly transitions = new TransitionTracker();

  constructor(private readonly client: PoolClient) {}

  private async read<R extends QueryResultRow>(statement: string): Promise<R[]> {
    const results = await roundTrip(this.client, [...this.held, statement]);
    this.held = [];
    return results[results.length - 1]!.rows as R[];
  }

  async commit(): Promise<void> {
    await roundTrip(this.client, [...this.held, "COMMIT"]);
    this.held = [];
  }

  async takeEntry(scope: TenantScope, eventId: string): Promise<DeadLetterRecord | null> {
    assertScope(scope);
    const rows = await this.read<Row>(
      inline(`DELETE FROM dead_letters WHERE org_id = $1 AND project_id = $2 AND space_id = $3 AND event_id = $4 RETURNING *`, [
        scope.org_id,
        scope.project_id,
        scope.space_id,
        eventId,
      ]),
    );
    // dead_letters is touched only above: what follows is resources and outbox_events, as the tenant.
    if (rows[0]) this.held.push(actAsTenant(scope));
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async lockResource(scope: TenantScope, resourceId: string): Promise<RequeueTarget | null> {
    assertScope(scope);
    const rows = await this.read<TargetRow>(
      inline(
        `SELECT resource_id, provider, resource_type, name, config, applied_config, outputs, provisioned, lifecycle_state, pending_event_id
        FROM resources WHERE org_id = $1 AND project_id = $2 AND space_id = $3 AND resource_id = $4 FOR UPDATE`,
        [scope.org_id, scope.project_id, scope.space_id, resourceId],
      ),
    );
    const target = rows[0] ? toTarget(rows[0]) : null;
    if (target) this.transitions.saw([target]);
    return target;
  }

  async insertEvent(e: NewOutboxEvent): Promise<void> {
    this.held.push(
      inline(
        `INSERT INTO outbox_events (event_id, org_id, project_id, space_id, resource_id, event_type, provider, resource_type, resource_name,
          payload, previous_config, correlation_id, status, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10::jsonb, $11::jsonb, $12, 'pending', $13)`,
        [e.eventId, e.scope.org_id, e.scope.project_id, e.scope.space_id, e.resourceId, e.eventType, e.provider, e.resourceType, e.resourceName,
          json(e.payload), json(e.previousConfig), e.correlationId, e.createdAt],
      ),
    );
  }

  async markPending(scope: TenantScope, resourceId: string, eventId: string, now: Date): Promise<void> {
    this.changed.push({ scope, resourceId });
    this.transitions.wrote(resourceId, "pending");
    this.held.push(
      inline(
        `UPDATE resources SET lifecycle_state = 'pending', pending_event_id = $5, error = NULL, updated_at = $6
        WHERE org_id = $1 AND project_id = $2 AND space_id = $3 AND resource_id = $4`,
        [scope.org_id, scope.project_id, scope.space_id, resourceId, eventId, now],
      ),
    );
  }
}


type TargetRow = Pick<ResourceRow, "resource_id" | "provider" | "resource_type" | "name" | "config" | "applied_config" | "outputs" | "provisioned" | "lifecycle_state" | "pending_event_id">;

function toTarget(r: TargetRow): RequeueTarget {
  return {
    resourceId: r.resource_id,
    provider: r.provider,
    resourceType: r.resource_type,
    name: r.name,
    config: r.config,
    appliedConfig: r.applied_config,
    outputs: r.outputs ?? {},
    provisioned: r.provisioned,
    lifecycleState: r.lifecycle_state as LifecycleState,
    pendingEventId: r.pending_event_id,
  };
}

function assertScope(scope: TenantScope): void {
  if (!scope.org_id || !scope.project_id || !scope.space_id) throw new Error("tenant scope is required");
}

function toRecord(row: Row): DeadLetterRecord {
  return {
    eventId: row.event_id,
    scope: { org_id: row.org_id, project_id: row.project_id, space_id: row.space_id },
    resourceId: row.resource_id,
    provider: row.provider,
    resourceType: row.resource_type,
    resourceName: row.resource_name,
    eventType: row.event_type as EventType,
    payload: row.payload,
    errorMessage: row.error_message,
    reason: row.reason as DeadLetterReason,
    attemptCount: Number(row.attempt_count),
    attempts: row.attempts,
    correlationId: row.correlation_id,
    failedAt: new Date(row.failed_at),
    createdAt: new Date(row.created_at),
  };
}
