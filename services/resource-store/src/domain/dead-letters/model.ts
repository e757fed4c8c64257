import type { DeadLetterAttempt, DeadLetterReason, EventType, TenantScope } from "@pragma/contracts";

/** One stored dead letter. Payload and texts are already redacted when a record exists. */
export interface DeadLetterRecord {
  eventId: string;
  scope: TenantScope;
  resourceId: string;
  provider: string;
  resourceType: string;
  resourceName: string;
  eventType: EventType;
  payload: Record<string, unknown>;
  errorMessage: string;
  reason: DeadLetterReason;
  attemptCount: number;
  attempts: DeadLetterAttempt[];
  correlationId: string | null;
  failedAt: Date;
  createdAt: Date;
}

/** Each filter given narrows the entries; absent ones match everything. */
export interface DeadLetterFilter {
  provider?: string | undefined;
  reason?: DeadLetterReason | undefined;
  resourceType?: string | undefined;
}
