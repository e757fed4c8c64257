import { z } from "zod";
import { defineRequest } from "./message";
import { TenantScope, timestamp } from "./common";
import { EventType } from "./resources";

/**
 * Dead-letter operations (spec §5). Entries live in the resource store, drained from
 * the broker's dead-letter queue; the gateway reaches them over rpc.resource-store.
 */

/** Why the event is in the dead-letter store: the broker's x-death reasons plus our own marker. */
export const DEAD_LETTER_REASONS = ["rejected", "delivery_limit", "expired", "permanent_error"] as const;
export const DeadLetterReason = z.enum(DEAD_LETTER_REASONS);
export type DeadLetterReason = z.infer<typeof DeadLetterReason>;

export const DeadLetterAttempt = z.object({
  at: timestamp(),
  error: z.string(),
});
export type DeadLetterAttempt = z.infer<typeof DeadLetterAttempt>;

/** pragma's DeadLetterEventResponse plus tenancy, reason and per-attempt history. Secrets are redacted. */
export const DeadLetterEntry = z.object({
  event_id: z.string(),
  provider: z.string(),
  resource_type: z.string(),
  resource_name: z.string(),
  resource_id: z.string(),
  event_type: EventType,
  payload: z.record(z.string(), z.unknown()),
  error_message: z.string(),
  attempt_count: z.number().int().nonnegative(),
  failed_at: timestamp(),
  project_id: z.string(),
  space_id: z.string(),
  correlation_id: z.string().nullable(),
  reason: DeadLetterReason,
  attempts: z.array(DeadLetterAttempt),
});
export type DeadLetterEntry = z.infer<typeof DeadLetterEntry>;

/** pragma's OutboxEventResponse: the event a retry queued. */
export const QueuedEvent = z.object({
  event_id: z.string(),
  provider: z.string(),
  resource_type: z.string(),
  resource_name: z.string(),
  event_type: EventType,
  payload: z.record(z.string(), z.unknown()),
  previous_config: z.record(z.string(), z.unknown()).nullable(),
  correlation_id: z.string(),
  status: z.literal("pending"),
  /** true: the event waits until every dependency is ready (spec §4.2); its payload is written, references resolved, when it is released. */
  held: z.boolean().optional(),
  created_at: timestamp(),
  published_at: timestamp().nullable(),
});
export type QueuedEvent = z.infer<typeof QueuedEvent>;

export const RetriedCount = z.object({ retried_count: z.number().int().nonnegative() });
export const DeletedCount = z.object({ deleted_count: z.number().int().nonnegative() });

const providerFilter = z.string().min(1).optional();
/** The list's filters (spec §5): each one given narrows the list, all of them together. */
const listFilters = { provider: providerFilter, reason: DeadLetterReason.optional(), resource_type: z.string().min(1).optional() };

export const deadLetterRequests = {
  list: defineRequest("resources.dead-letter.list.v1", z.object({ scope: TenantScope, ...listFilters }), z.array(DeadLetterEntry)),
  get: defineRequest("resources.dead-letter.get.v1", z.object({ scope: TenantScope, event_id: z.string().min(1) }), DeadLetterEntry),
  retry: defineRequest("resources.dead-letter.retry.v1", z.object({ scope: TenantScope, event_id: z.string().min(1) }), QueuedEvent),
  retryAll: defineRequest("resources.dead-letter.retry-all.v1", z.object({ scope: TenantScope, provider: providerFilter }), RetriedCount),
  delete: defineRequest("resources.dead-letter.delete.v1", z.object({ scope: TenantScope, event_id: z.string().min(1) }), DeletedCount),
  /** Exactly one of all / provider, else BAD_REQUEST. */
  deleteMany: defineRequest(
    "resources.dead-letter.delete-many.v1",
    z.object({ scope: TenantScope, all: z.boolean().optional(), provider: providerFilter }),
    DeletedCount,
  ),
} as const;
