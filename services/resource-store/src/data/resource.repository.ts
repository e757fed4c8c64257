import type { ResourceRef, TenantScope } from "@pragma/contracts";
import { Prisma, type PrismaClient } from "../generated/prisma/client";
import type { OutboxEventRecord, OutboxStatus, ResourceRecord } from "../domain/resources/model";
import type { ListFilter, ResourceRepository, StoreTx } from "../domain/resources/ports";
import { resourceId as idOf } from "@pragma/contracts";

type Tx = Prisma.TransactionClient;
type Row = NonNullable<Awaited<ReturnType<PrismaClient["resource"]["findFirst"]>>>;
type EventRow = NonNullable<Awaited<ReturnType<PrismaClient["outboxEvent"]["findFirst"]>>>;

const UNIQUE_VIOLATION = "P2002";

/** The NOLOGIN roles the migration creates; row-level security policies name them. */
export const TENANT_ROLE = "pragma_store_tenant";
export const RELAY_ROLE = "pragma_store_relay";

/**
 * Opens a transaction as the tenant role with the scope in transaction-local settings.
 * The role is subject to FORCE'd row-level security, so even a query that forgot its
 * WHERE clause sees only this scope's rows, and a write into another scope fails.
 */
export async function enterScope(tx: Tx, scope: TenantScope): Promise<void> {
  if (!scope.org_id || !scope.project_id || !scope.space_id) throw new Error("tenant scope is required");
  await tx.$executeRawUnsafe(`SET LOCAL ROLE ${TENANT_ROLE}`);
  await tx.$queryRaw`SELECT set_config('pragma.org_id', ${scope.org_id}, true), set_config('pragma.project_id', ${scope.project_id}, true), set_config('pragma.space_id', ${scope.space_id}, true)`;
}

export class PrismaResourceRepository implements ResourceRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async inScope<T>(scope: TenantScope, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.prisma.$transaction(
          async (tx) => {
            await enterScope(tx, scope);
            return fn(new PrismaStoreTx(tx, scope));
          },
          { timeout: 30_000, maxWait: 10_000 },
        );
      } catch (err) {
        // Two first applies of the same resource race on the unique key; the loser
        // retries and then sees (and locks) the winner's row.
        if (attempt === 0 && isUniqueViolation(err)) continue;
        throw err;
      }
    }
  }
}

class PrismaStoreTx implements StoreTx {
  private readonly where: { orgId: string; projectId: string; spaceId: string };

  constructor(
    private readonly tx: Tx,
    readonly scope: TenantScope,
  ) {
    this.where = { orgId: scope.org_id, projectId: scope.project_id, spaceId: scope.space_id };
  }

  private async lockRows(rowIds: { row_id: string }[]): Promise<ResourceRecord[]> {
    if (rowIds.length === 0) return [];
    const rows = await this.tx.resource.findMany({ where: { rowId: { in: rowIds.map((r) => r.row_id) } }, orderBy: { resourceId: "asc" } });
    return rows.map(toRecord);
  }

  async lockResource(resourceId: string): Promise<ResourceRecord | null> {
    const s = this.scope;
    const rows = await this.tx.$queryRaw<{ row_id: string }[]>`
      SELECT row_id FROM resources
      WHERE org_id = ${s.org_id} AND project_id = ${s.project_id} AND space_id = ${s.space_id} AND resource_id = ${resourceId}
      FOR UPDATE`;
    return (await this.lockRows(rows))[0] ?? null;
  }

  async getResource(resourceId: string): Promise<ResourceRecord | null> {
    const row = await this.tx.resource.findFirst({ where: { ...this.where, resourceId } });
    return row ? toRecord(row) : null;
  }

  async getResources(resourceIds: string[]): Promise<ResourceRecord[]> {
    if (resourceIds.length === 0) return [];
    const rows = await this.tx.resource.findMany({ where: { ...this.where, resourceId: { in: resourceIds } } });
    return rows.map(toRecord);
  }

  async lockDependents(resourceId: string): Promise<ResourceRecord[]> {
    const s = this.scope;
    // Ordered locking keeps two result transactions from deadlocking on shared dependents.
    const rows = await this.tx.$queryRaw<{ row_id: string }[]>`
      SELECT row_id FROM resources
      WHERE org_id = ${s.org_id} AND project_id = ${s.project_id} AND space_id = ${s.space_id} AND ${resourceId} = ANY(dependency_ids)
      ORDER BY resource_id FOR UPDATE`;
    return this.lockRows(rows);
  }

  async lockOwned(resourceId: string): Promise<ResourceRecord[]> {
    const s = this.scope;
    const rows = await this.tx.$queryRaw<{ row_id: string }[]>`
      SELECT row_id FROM resources
      WHERE org_id = ${s.org_id} AND project_id = ${s.project_id} AND space_id = ${s.space_id} AND ${resourceId} = ANY(owner_ids)
      ORDER BY resource_id FOR UPDATE`;
    return this.lockRows(rows);
  }

  async dependencyEdges(resourceIds: string[]): Promise<Map<string, string[]>> {
    if (resourceIds.length === 0) return new Map();
    const rows = await this.tx.resource.findMany({ where: { ...this.where, resourceId: { in: resourceIds } }, select: { resourceId: true, dependencyIds: true } });
    return new Map(rows.map((r) => [r.resourceId, r.dependencyIds]));
  }

  async list(f: ListFilter): Promise<ResourceRecord[]> {
    const rows = await this.tx.resource.findMany({
      where: {
        ...this.where,
        ...(f.provider !== undefined ? { provider: f.provider } : {}),
        ...(f.resourceType !== undefined ? { resourceType: f.resourceType } : {}),
        ...(f.tags && f.tags.length > 0 ? { tags: { hasEvery: f.tags } } : {}),
        ...(f.after ? { OR: [{ name: { gt: f.after.name } }, { name: f.after.name, resourceId: { gt: f.after.resourceId } }] } : {}),
      },
      orderBy: [{ name: "asc" }, { resourceId: "asc" }],
      take: f.limit,
    });
    return rows.map(toRecord);
  }

  async insertResource(r: ResourceRecord): Promise<void> {
    await this.tx.resource.create({ data: toRow(r) });
  }

  async updateResource(r: ResourceRecord): Promise<void> {
    const { rowId, orgId, projectId, spaceId, resourceId, provider, resourceType, name, createdAt, ...rest } = toRow(r);
    void orgId, projectId, spaceId, resourceId, provider, resourceType, name, createdAt; // identity and created_at never change
    await this.tx.resource.update({ where: { rowId }, data: rest });
  }

  async deleteResource(resourceId: string): Promise<void> {
    await this.tx.resource.deleteMany({ where: { ...this.where, resourceId } });
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

  async getEvent(eventId: string): Promise<OutboxEventRecord | null> {
    const row = await this.tx.outboxEvent.findFirst({ where: { ...this.where, eventId } });
    return row ? toEvent(row) : null;
  }

  async updateEvent(eventId: string, change: { status: OutboxStatus; payload?: Record<string, unknown>; previousConfig?: Record<string, unknown> | null }): Promise<void> {
    await this.tx.outboxEvent.updateMany({
      where: { ...this.where, eventId },
      data: {
        status: change.status,
        ...(change.payload ? { payload: change.payload as Prisma.InputJsonValue } : {}),
        ...(change.previousConfig !== undefined ? { previousConfig: (change.previousConfig ?? Prisma.DbNull) as Prisma.InputJsonValue } : {}),
      },
    });
  }
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Prisma.PrismaClientKnownRequestError && err.code === UNIQUE_VIOLATION;
}

const refIds = (refs: ResourceRef[]) => [...new Set(refs.map(idOf))];

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
    dependencyIds: refIds(r.dependencies),
    ownerIds: refIds(r.ownerReferences),
    outputs: r.outputs as Prisma.InputJsonValue,
    error: r.error,
    lifecycleState: r.lifecycleState,
    pendingEventId: r.pendingEventId,
    provisioned: r.provisioned,
    tags: r.tags ?? [],
    hasTags: r.tags !== null,
    staleInputs: r.staleInputs,
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
    staleInputs: row.staleInputs,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function toEvent(row: EventRow): OutboxEventRecord {
  return {
    eventId: row.eventId,
    scope: { org_id: row.orgId, project_id: row.projectId, space_id: row.spaceId },
    resourceId: row.resourceId,
    eventType: row.eventType as OutboxEventRecord["eventType"],
    provider: row.provider,
    resourceType: row.resourceType,
    resourceName: row.resourceName,
    payload: row.payload as Record<string, unknown>,
    previousConfig: (row.previousConfig as Record<string, unknown> | null) ?? null,
    correlationId: row.correlationId,
    status: row.status as OutboxStatus,
    createdAt: row.createdAt,
    publishedAt: row.publishedAt,
  };
}
