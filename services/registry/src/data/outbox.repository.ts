import { HEADERS, type MessageContract } from "@pragma/contracts";
import { newId } from "@pragma/ids";
import { currentContext } from "@pragma/logger";
import type { OutboxBatch, OutboxSource } from "@pragma/messaging";
import type { EventOutbox, TenantHeaders } from "../domain/ports";
import type { Prisma } from "../generated/prisma/client";
import type { Db, Tx } from "./prisma";

/** An outbox row as the relay publishes it. */
export interface RegistryOutboxEvent {
  /** Published as the message id, so a consumer dedupes a republished event. */
  event_id: string;
  type: string;
  payload: unknown;
  headers: Record<string, unknown>;
  correlation_id: string | null;
}

function tenantHeaders(tenant: TenantHeaders): Record<string, string> {
  const headers: Record<string, string> = { [HEADERS.orgId]: tenant.orgId };
  if (tenant.projectId) headers[HEADERS.projectId] = tenant.projectId;
  if (tenant.spaceId) headers[HEADERS.spaceId] = tenant.spaceId;
  return headers;
}

/** Writes events into outbox_events on the transaction of the change they announce. */
export class PrismaEventOutbox implements EventOutbox {
  constructor(
    private readonly tx: Tx,
    private readonly onWrite: () => void,
  ) {}

  async add<T>(contract: MessageContract<T>, payload: T, tenant: TenantHeaders): Promise<void> {
    // Checked now: a malformed event fails its change instead of failing every relay attempt later.
    const valid = contract.schema.parse(payload);
    await this.tx.outboxEvent.create({
      data: {
        eventId: newId("message"),
        type: contract.type,
        payload: valid as Prisma.InputJsonValue,
        headers: tenantHeaders(tenant),
        // The request the change came from, so the event's consumers log the same id.
        correlationId: currentContext()?.requestId ?? null,
      },
    });
    this.onWrite();
  }
}

/**
 * The relay's side of outbox_events. A batch is claimed with FOR UPDATE SKIP LOCKED in
 * one transaction that stays open while it is published, so two registry processes never
 * claim the same row; published rows are deleted with that transaction's commit (nothing
 * reads them afterwards), failed ones count an attempt and stay for the next round.
 */
export class PrismaOutboxSource implements OutboxSource<RegistryOutboxEvent> {
  private readonly table: string;

  constructor(
    private readonly db: Db,
    schema: string,
    /** How long a batch may hold its transaction: the relay's publish timeout plus room for the marks. */
    private readonly holdMs: number,
  ) {
    // The schema name is validated by the config as a lowercase SQL identifier.
    this.table = `"${schema}"."outbox_events"`;
  }

  withBatch<T>(limit: number, fn: (batch: OutboxBatch<RegistryOutboxEvent>) => Promise<T>): Promise<T> {
    return this.db.$transaction(
      async (tx) => {
        const locked = await tx.$queryRawUnsafe<{ event_id: string }[]>(
          `SELECT event_id FROM ${this.table} ORDER BY event_id LIMIT $1 FOR UPDATE SKIP LOCKED`,
          limit,
        );
        const rows =
          locked.length === 0 ? [] : await tx.outboxEvent.findMany({ where: { eventId: { in: locked.map((r) => r.event_id) } }, orderBy: { eventId: "asc" } });
        const published: string[] = [];
        const failed: { ids: string[]; error: string }[] = [];
        const result = await fn({
          events: rows.map((r) => ({
            event_id: r.eventId,
            type: r.type,
            payload: r.payload,
            headers: r.headers as Record<string, unknown>,
            correlation_id: r.correlationId,
          })),
          async markPublished(ids) {
            published.push(...ids);
          },
          async markFailed(ids, error) {
            if (ids.length > 0) failed.push({ ids, error });
          },
        });
        if (published.length > 0) await tx.outboxEvent.deleteMany({ where: { eventId: { in: published } } });
        for (const f of failed) await tx.outboxEvent.updateMany({ where: { eventId: { in: f.ids } }, data: { attempts: { increment: 1 }, lastError: f.error } });
        return result;
      },
      { maxWait: 5_000, timeout: this.holdMs },
    );
  }
}
