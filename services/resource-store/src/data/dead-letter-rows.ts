import type { DeadLetterAttempt, DeadLetterReason, EventType } from "@pragma/contracts";
import type { DeadLetterRecord } from "../domain/dead-letters/model";

/** A dead_letters row as pg returns it (both repositories read them). */
export interface DeadLetterRow {
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

export function toDeadLetterRecord(row: DeadLetterRow): DeadLetterRecord {
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
