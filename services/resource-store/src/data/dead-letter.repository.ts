import type { DeadLetterAttempt, DeadLetterReason, EventType, LifecycleState, TenantScope } from "@pragma/contracts";
import { Prisma, type PrismaClient } from "../generated/prisma/client";
import type { DeadLetterFilter, DeadLetterRecord, NewOutboxEvent, RequeueTarget } from "../domain/dead-letters/model";
import type { DeadLetterRepository, RequeueTx } from "../domain/dead-letters/ports";

type Tx = Prisma.TransactionClient;

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
 */
export class PrismaDeadLetterRepository implements DeadLetterRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async ingest(r: DeadLetterRecord): Promise<{ inserted: boolean; resourceFailed: boolean }> {
    assertScope(r.scope);
    return this.prisma.$transaction(async (tx) => {
      const inserted = await tx.$executeRaw`
        INSERT INTO dead_letters (event_id, org_id, project_id, space_id, resource_id, provider, resource_type, resource_name,
          event_type, payload, error_message, reason, attempt_count, attempts, correlation_id, failed_at, created_at)
        VALUES (${r.eventId}, ${r.scope.org_id}, ${r.scope.project_id}, ${r.scope.space_id}, ${r.resourceId}, ${r.provider},
          ${r.resourceType}, ${r.resourceName}, ${r.eventType}, ${JSON.stringify(r.payload)}::jsonb, ${r.errorMessage}, ${r.reason},
          ${r.attemptCount}, ${JSON.stringify(r.attempts)}::jsonb, ${r.correlationId}, ${r.failedAt}, ${r.createdAt})
        ON CONFLICT (event_id) DO NOTHING`;
      await actAsTenant(tx, r.scope);
      // Only while the resource still waits on this event: a later event, a result that
      // already arrived, or a user's re-apply all win over a late dead letter.
      const failed = await tx.$executeRaw`
        UPDATE resources
        SET lifecycle_state = 'failed', error = ${r.errorMessage}, pending_event_id = NULL, updated_at = ${r.createdAt}
        WHERE org_id = ${r.scope.org_id} AND project_id = ${r.scope.project_id} AND space_id = ${r.scope.space_id}
          AND resource_id = ${r.resourceId} AND pending_event_id = ${r.eventId}
          AND lifecycle_state IN ('pending', 'processing')`;
      return { inserted: inserted > 0, resourceFailed: failed > 0 };
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

  async entryKeys(scope: TenantScope, filter: DeadLetterFilter): Promise<{ eventId: string; resourceId: string }[]> {
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

  async requeue<T>(fn: (tx: RequeueTx) => Promise<T>): Promise<T> {
    return this.prisma.$transaction((tx) => fn(new PrismaRequeueTx(tx)), { timeout: 30_000, maxWait: 10_000 });
  }
}

class PrismaRequeueTx implements RequeueTx {
  constructor(private readonly tx: Tx) {}

  async takeEntry(scope: TenantScope, eventId: string): Promise<DeadLetterRecord | null> {
    assertScope(scope);
    const rows = await this.tx.$queryRaw<Row[]>`
      DELETE FROM dead_letters
      WHERE org_id = ${scope.org_id} AND project_id = ${scope.project_id} AND space_id = ${scope.space_id} AND event_id = ${eventId}
      RETURNING *`;
    // dead_letters is touched only above: what follows is resources and outbox_events.
    if (rows[0]) await actAsTenant(this.tx, scope);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async lockResource(scope: TenantScope, resourceId: string): Promise<RequeueTarget | null> {
    assertScope(scope);
    const rows = await this.tx.$queryRaw<
      {
        resource_id: string;
        provider: string;
        resource_type: string;
        name: string;
        config: Record<string, unknown>;
        applied_config: Record<string, unknown> | null;
        outputs: Record<string, unknown>;
        provisioned: boolean;
        lifecycle_state: string;
        pending_event_id: string | null;
      }[]
    >`
      SELECT resource_id, provider, resource_type, name, config, applied_config, outputs, provisioned, lifecycle_state, pending_event_id
      FROM resources
      WHERE org_id = ${scope.org_id} AND project_id = ${scope.project_id} AND space_id = ${scope.space_id} AND resource_id = ${resourceId}
      FOR UPDATE`;
    const r = rows[0];
    if (!r) return null;
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

  async insertEvent(e: NewOutboxEvent): Promise<void> {
    await this.tx.$executeRaw`
      INSERT INTO outbox_events (event_id, org_id, project_id, space_id, resource_id, event_type, provider, resource_type, resource_name,
        payload, previous_config, correlation_id, status, created_at)
      VALUES (${e.eventId}, ${e.scope.org_id}, ${e.scope.project_id}, ${e.scope.space_id}, ${e.resourceId}, ${e.eventType}, ${e.provider},
        ${e.resourceType}, ${e.resourceName}, ${JSON.stringify(e.payload)}::jsonb,
        ${e.previousConfig === null ? null : JSON.stringify(e.previousConfig)}::jsonb, ${e.correlationId}, 'pending', ${e.createdAt})`;
  }

  async markPending(scope: TenantScope, resourceId: string, eventId: string, now: Date): Promise<void> {
    await this.tx.$executeRaw`
      UPDATE resources SET lifecycle_state = 'pending', pending_event_id = ${eventId}, error = NULL, updated_at = ${now}
      WHERE org_id = ${scope.org_id} AND project_id = ${scope.project_id} AND space_id = ${scope.space_id} AND resource_id = ${resourceId}`;
  }
}

/**
 * Where the resources/outbox tables run under row-level security (the tenant backstop
 * of migration 20261126000000), the rest of the transaction acts as its tenant role with
 * the scope set, exactly as the resources repository does; on a schema without RLS this
 * only sets harmless transaction-local settings. Statements on dead_letters must come
 * before this call: that table is not granted to the tenant role.
 */
async function actAsTenant(tx: Tx, scope: TenantScope): Promise<void> {
  const [rls] = await tx.$queryRaw<{ rls: boolean }[]>`
    SELECT c.relrowsecurity AS rls FROM pg_class c WHERE c.oid = to_regclass('resources')`;
  await tx.$queryRaw`SELECT set_config('pragma.org_id', ${scope.org_id}, true), set_config('pragma.project_id', ${scope.project_id}, true), set_config('pragma.space_id', ${scope.space_id}, true)`;
  if (rls?.rls) await tx.$executeRawUnsafe(`SET LOCAL ROLE ${TENANT_ROLE}`);
}

/** Named by the RLS migration's policies. */
const TENANT_ROLE = "pragma_store_tenant";

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
