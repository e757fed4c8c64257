import { z } from "zod";
import { defineRequest } from "./message";
import { TenantScope, timestamp } from "./common";

/**
 * A resource's history (GET /resources/{id}/events, api.md §9): one entry per lifecycle
 * step, newest first. The store writes them in the transaction that takes the step.
 */
export const HISTORY_KINDS = [
  "applied",
  "queued",
  "started",
  "succeeded",
  "failed",
  "dead_lettered",
  "retried",
  "drift_detected",
  "healed",
  "deleted",
] as const;
export const HistoryKind = z.enum(HISTORY_KINDS);
export type HistoryKind = z.infer<typeof HistoryKind>;

/** The store keeps this many entries per resource (the oldest go first). */
export const HISTORY_KEPT_PER_RESOURCE = 100;

export const ResourceHistoryEntry = z.object({
  at: timestamp(),
  kind: HistoryKind,
  /** The outbox event the step belongs to, where there is one. */
  event_id: z.string().nullable(),
  /** The request the step descends from (the apply's, delete's or retry's request id). */
  request_id: z.string().nullable(),
  /** Short and redacted when written: never a config or output value. */
  summary: z.string(),
});
export type ResourceHistoryEntry = z.infer<typeof ResourceHistoryEntry>;

export const ResourceHistory = z.object({ resource_id: z.string(), items: z.array(ResourceHistoryEntry) });
export type ResourceHistory = z.infer<typeof ResourceHistory>;

export const HistoryQuery = z.object({
  limit: z.coerce.number().int().min(1).max(HISTORY_KEPT_PER_RESOURCE).default(HISTORY_KEPT_PER_RESOURCE),
});

export const historyRequests = {
  /** NOT_FOUND when the resource has neither a row nor any history. */
  events: defineRequest(
    "resources.resource.events.v1",
    z.object({ scope: TenantScope, id: z.string(), limit: z.number().int().min(1).max(HISTORY_KEPT_PER_RESOURCE).optional() }),
    ResourceHistory,
  ),
} as const;
