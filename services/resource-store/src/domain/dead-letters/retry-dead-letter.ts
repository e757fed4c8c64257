import { AppError } from "@pragma/errors";
import { newId } from "@pragma/ids";
import type { QueuedEvent, ResourceWork, TenantScope } from "@pragma/contracts";
import { BUSY_MESSAGE } from "../resources/transitions";
import type { DeadLetterRecord, NewOutboxEvent, RequeueTarget } from "./model";
import type { Clock, DeadLetterRepository, TypeCatalog } from "./ports";
import { presentQueuedEvent } from "./present";
import { NO_SENSITIVE_FIELDS, redactWorkPayload } from "./redact";

export interface RetryDeps {
  repo: DeadLetterRepository;
  clock: Clock;
  types?: TypeCatalog;
  /** After commit, so the relay publishes without waiting for its poll. */
  onEventWritten?: () => void;
  /** The operator's request id: the new event descends from the retry, not from the failed attempt. */
  correlationId?: () => string | undefined;
  /** Entries per retry-all transaction (RETRY_ALL_CHUNK when unset). */
  retryAllChunk?: number;
}

export const notFound = (eventId: string) => new AppError("NOT_FOUND", `Dead-letter event not found: ${eventId}`);

/**
 * Re-queues a dead-lettered event: in one transaction the entry is removed, a fresh
 * outbox event is written (new event id, so the worker's dedupe, retry count and
 * delivery count all start over), and the resource goes back to pending on it.
 *
 * The event is rebuilt from the resource row, not replayed from the stored payload:
 * the stored payload is redacted, and the point of a retry is usually that something
 * was fixed (credentials, config), so the provider must see the current config. A
 * DELETE stays a DELETE; otherwise CREATE or UPDATE follows `provisioned`, as apply
 * decides it.
 */
export async function retryDeadLetter(deps: RetryDeps, scope: TenantScope, eventId: string): Promise<QueuedEvent> {
  const event = await deps.repo.requeue(async (tx) => {
    const entry = await tx.takeEntry(scope, eventId);
    if (!entry) throw notFound(eventId);
    const target = await tx.lockResource(scope, entry.resourceId);
    if (!target) {
      throw new AppError("CONFLICT", `Resource ${entry.provider}/${entry.resourceType}/${entry.resourceName} no longer exists; delete this dead-letter entry instead`);
    }
    if (!isRetryable(target)) throw new AppError("CONFLICT", BUSY_MESSAGE);
    const now = deps.clock.now();
    const next = buildEvent(entry, target, scope, now, deps.correlationId?.());
    await tx.insertEvent(next);
    await tx.markPending(scope, target.resourceId, next.eventId, now);
    return next;
  });
  deps.onEventWritten?.();
  const fields = (await deps.types?.sensitiveFields(event.provider, event.resourceType).catch(() => null)) ?? NO_SENSITIVE_FIELDS;
  return presentQueuedEvent(event, redactWorkPayload(event.payload, fields).payload);
}

/** Another event owns a pending or processing resource; queuing a second would break one-outstanding-event. */
export function isRetryable(target: RequeueTarget): boolean {
  return target.lifecycleState !== "pending" && target.lifecycleState !== "processing";
}

export function buildEvent(entry: DeadLetterRecord, r: RequeueTarget, scope: TenantScope, now: Date, correlationId: string | undefined): NewOutboxEvent {
  const eventId = newId("event");
  const eventType = entry.eventType === "DELETE" ? "DELETE" : r.provisioned ? "UPDATE" : "CREATE";
  const previousConfig = eventType === "UPDATE" ? r.appliedConfig : null;
  const work: ResourceWork = {
    event_id: eventId,
    event_type: eventType,
    resource_id: r.resourceId,
    provider: r.provider,
    resource_type: r.resourceType,
    resource_name: r.name,
    org_id: scope.org_id,
    project_id: scope.project_id,
    space_id: scope.space_id,
    config: r.config,
    previous_config: previousConfig,
    outputs: r.provisioned ? r.outputs : null,
    created_at: now.toISOString(),
  };
  return {
    eventId,
    scope,
    resourceId: r.resourceId,
    eventType,
    provider: r.provider,
    resourceType: r.resourceType,
    resourceName: r.name,
    payload: work as unknown as Record<string, unknown>,
    previousConfig,
    correlationId: correlationId ?? entry.correlationId ?? eventId,
    createdAt: now,
  };
}
