import type { PrismaClient } from "../generated/prisma/client";
import { RELAY_ROLE } from "./resource.repository";

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

export interface OutboxBatch {
  events: ClaimedEvent[];
  markPublished(eventIds: string[]): Promise<void>;
  markFailed(eventIds: string[], error: string): Promise<void>;
}

/**
 * Claims unpublished events with FOR UPDATE SKIP LOCKED inside one transaction, so
 * any number of store replicas can relay at once without publishing an event twice
 * (except after a crash between publish and mark, which consumers dedupe).
 */
export class OutboxRepository {
  constructor(private readonly prisma: PrismaClient) {}

  async withBatch<T>(limit: number, fn: (batch: OutboxBatch) => Promise<T>): Promise<T> {
    return this.prisma.$transaction(
      async (tx) => {
        // The relay works across tenants, so it runs as the one role whose policy shows
        // every tenant's released events (and nothing of the resources table).
        await tx.$executeRawUnsafe(`SET LOCAL ROLE ${RELAY_ROLE}`);
        const events = await tx.$queryRaw<ClaimedEvent[]>`
          SELECT event_id, provider, resource_id, org_id, project_id, space_id, correlation_id, payload
          FROM outbox_events
          WHERE status = 'pending'
          ORDER BY event_id
          LIMIT ${limit}
          FOR UPDATE SKIP LOCKED`;
        return fn({
          events,
          async markPublished(ids) {
            if (ids.length === 0) return;
            await tx.$executeRaw`UPDATE outbox_events SET status = 'published', published_at = now() WHERE event_id = ANY(${ids})`;
          },
          async markFailed(ids, error) {
            if (ids.length === 0) return;
            await tx.$executeRaw`UPDATE outbox_events SET attempts = attempts + 1, last_error = ${error} WHERE event_id = ANY(${ids})`;
          },
        });
      },
      { timeout: 30_000, maxWait: 10_000 },
    );
  }
}
