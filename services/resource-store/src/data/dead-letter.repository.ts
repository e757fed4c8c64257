import type { TenantScope } from "@pragma/contracts";
import type { PrismaClient } from "../generated/prisma/client";
import type { DeadLetterFilter, DeadLetterRecord } from "../domain/dead-letters/model";
import type { DeadLetterRepository, EntryKey } from "../domain/dead-letters/ports";
import { toDeadLetterRecord, type DeadLetterRow } from "./dead-letter-rows";

/**
 * The operator's reads and deletes of dead-letter entries, on Prisma, every statement
 * tenant-scoped. The writes that go with resource state are not here: an ingest stores
 * its entry and a retry takes it inside the store transaction that fails or re-queues the
 * resource (StoreTx.insertDeadLetter, StoreTx.takeDeadLetter, through the lifecycle).
 */
export class PrismaDeadLetterRepository implements DeadLetterRepository {
  constructor(private readonly prisma: PrismaClient) {}

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
