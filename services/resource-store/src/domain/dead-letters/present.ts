import type { DeadLetterEntry, QueuedEvent } from "@pragma/contracts";
import type { OutboxEventRecord } from "../resources/model";
import type { DeadLetterRecord } from "./model";

/** The wire shape of an entry (spec §5); the record is already redacted. */
export function presentDeadLetter(r: DeadLetterRecord): DeadLetterEntry {
  return {
    event_id: r.eventId,
    provider: r.provider,
    resource_type: r.resourceType,
    resource_name: r.resourceName,
    resource_id: r.resourceId,
    event_type: r.eventType,
    payload: r.payload,
    error_message: r.errorMessage,
    attempt_count: r.attemptCount,
    failed_at: r.failedAt.toISOString(),
    project_id: r.scope.project_id,
    space_id: r.scope.space_id,
    correlation_id: r.correlationId,
    reason: r.reason,
    attempts: r.attempts,
  };
}

/**
 * pragma's OutboxEventResponse; `payload` must be redacted by the caller. A held event
 * (waiting for a dependency) says so; its payload is written when it is released.
 */
export function presentQueuedEvent(e: OutboxEventRecord, payload: Record<string, unknown>): QueuedEvent {
  return {
    event_id: e.eventId,
    provider: e.provider,
    resource_type: e.resourceType,
    resource_name: e.resourceName,
    event_type: e.eventType,
    payload,
    previous_config: e.previousConfig,
    correlation_id: e.correlationId ?? e.eventId,
    status: "pending",
    ...(e.status === "held" ? { held: true } : {}),
    created_at: e.createdAt.toISOString(),
    published_at: null,
  };
}
