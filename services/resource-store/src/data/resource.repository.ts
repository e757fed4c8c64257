import type { ResourceRef, TenantScope } from "@pragma/contracts";
import { Prisma, type PrismaClient } from "../generated/prisma/client";
import type { OutboxEventRecord, ResourceRecord } from "../domain/resources/model";
import type { ResourceRepository, StoreTx } from "../domain/resources/ports";

type Tx = Prisma.TransactionClient;
type Row = NonNullable<Awaited<ReturnType<PrismaClient["resource"]["findFirst"]>>>;

const UNIQUE_VIOLATION = "P2002";

export class PrismaResourceRepository implements ResourceRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.prisma.$transaction((tx) => fn(new PrismaStoreTx(tx)));
      } catch (err) {
        // Two first applies of the same resource race on the unique key; the loser
        // retries and then sees (and locks) the winner's row.
        if (attempt === 0 && isUniqueViolation(err)) continue;
        throw err;
      }
    }
  }

  async getResource(scope: TenantScope, resourceId: string): Promise<ResourceRecord | null> {
    const row = await this.prisma.resource.findFirst({ where: { ...tenantWhere(scope), resourceId } });
    return row ? toRecord(row) : null;
  }
}

class PrismaStoreTx implements StoreTx {
  constructor(private readonly tx: Tx) {}

  async lockResource(scope: TenantScope, resourceId: string): Promise<ResourceRecord | null> {
    const rows = await this.tx.$queryRaw<{ row_id: string }[]>`
      SELECT row_id FROM resources
      WHERE org_id = ${scope.org_id} AND project_id = ${scope.project_id} AND space_id = ${scope.space_id}
        AND resource_id = ${resourceId}
      FOR UPDATE`;
    if (rows.length === 0) return null;
    const row = await this.tx.resource.findUnique({ where: { rowId: rows[0]!.row_id } });
    return row ? toRecord(row) : null;
  }

  async insertResource(r: ResourceRecord): Promise<void> {
    await this.tx.resource.create({ data: toRow(r) });
  }

  async updateResource(r: ResourceRecord): Promise<void> {
    const { rowId, orgId, projectId, spaceId, resourceId, createdAt, ...rest } = toRow(r);
    void orgId, projectId, spaceId, resourceId, createdAt; // identity and created_at never change
    await this.tx.resource.update({ where: { rowId }, data: rest });
  }

  async deleteResource(scope: TenantScope, resourceId: string): Promise<void> {
    await this.tx.resource.deleteMany({ where: { ...tenantWhere(scope), resourceId } });
  }

  async insertEvent(e: OutboxEventRecord): Promise<void> {
    await this.tx.outboxEvent.create({
      data: {
        eventId: e.eventId,
        orgId: e.scope.org_id,
        projectId: e.scope.project_id,
        spaceId: e.scope.space_id,
        resourceId: e.resourceId,
        eventType: e.eventType,
        provider: e.provider,
        resourceType: e.resourceType,
        resourceName: e.resourceName,
        payload: e.payload as Prisma.InputJsonValue,
        previousConfig: (e.previousConfig ?? Prisma.DbNull) as Prisma.InputJsonValue,
        correlationId: e.correlationId,
        status: e.status,
        createdAt: e.createdAt,
        publishedAt: e.publishedAt,
      },
    });
  }
}

/** Every query goes through this: no tenant filter, no query. */
function tenantWhere(scope: TenantScope) {
  if (!scope.org_id || !scope.project_id || !scope.space_id) throw new Error("tenant scope is required");
  return { orgId: scope.org_id, projectId: scope.project_id, spaceId: scope.space_id };
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === UNIQUE_VIOLATION;
}

function toRow(r: ResourceRecord) {
  return {
    rowId: r.rowId,
    orgId: r.scope.org_id,
    projectId: r.scope.project_id,
    spaceId: r.scope.space_id,
    resourceId: r.resourceId,
    provider: r.provider,
    resourceType: r.resourceType,
    name: r.name,
    config: r.config as Prisma.InputJsonValue,
    appliedConfig: (r.appliedConfig ?? Prisma.DbNull) as Prisma.InputJsonValue,
    dependencies: r.dependencies as unknown as Prisma.InputJsonValue,
    ownerReferences: r.ownerReferences as unknown as Prisma.InputJsonValue,
    outputs: r.outputs as Prisma.InputJsonValue,
    error: r.error,
    lifecycleState: r.lifecycleState,
    pendingEventId: r.pendingEventId,
    provisioned: r.provisioned,
    tags: r.tags ?? [],
    hasTags: r.tags !== null,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  };
}

function toRecord(row: Row): ResourceRecord {
  return {
    rowId: row.rowId,
    scope: { org_id: row.orgId, project_id: row.projectId, space_id: row.spaceId },
    resourceId: row.resourceId,
    provider: row.provider,
    resourceType: row.resourceType,
    name: row.name,
    config: row.config as Record<string, unknown>,
    appliedConfig: (row.appliedConfig as Record<string, unknown> | null) ?? null,
    dependencies: row.dependencies as unknown as ResourceRef[],
    ownerReferences: row.ownerReferences as unknown as ResourceRef[],
    outputs: row.outputs as Record<string, unknown>,
    error: row.error,
    lifecycleState: row.lifecycleState as ResourceRecord["lifecycleState"],
    pendingEventId: row.pendingEventId,
    provisioned: row.provisioned,
    tags: row.hasTags ? row.tags : null,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}
