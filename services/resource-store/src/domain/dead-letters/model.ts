import type { DeadLetterAttempt, DeadLetterReason, EventType, LifecycleState, TenantScope } from "@pragma/contracts";

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

/** What a retry needs of the resource: its current desired state, not the event's stale copy. */
export interface RequeueTarget {
  resourceId: string;
  provider: string;
  resourceType: string;
  name: string;
  config: Record<string, unknown>;
  appliedConfig: Record<string, unknown> | null;
  outputs: Record<string, unknown>;
  provisioned: boolean;
  lifecycleState: LifecycleState;
  pendingEventId: string | null;
}

export interface NewOutboxEvent {
  eventId: string;
  scope: TenantScope;
  resourceId: string;
  eventType: EventType;
  provider: string;
  resourceType: string;
  resourceName: string;
  payload: Record<string, unknown>;
  previousConfig: Record<string, unknown> | null;
  correlationId: string;
  createdAt: Date;
}

export interface DeadLetterFilter {
  provider?: string | undefined;
}
