import { AppError } from "@pragma/errors";
import type { QueuedEvent, ResourceDefinition, TenantScope } from "@pragma/contracts";
import { queueChecked } from "../resources/apply-resource";
import { Lifecycle } from "../resources/lifecycle";
import type { OutboxEventRecord, ResourceRecord } from "../resources/model";
import type { ResourceRepository, Sealer, StoreTx, TypeCatalog as ResourceTypes } from "../resources/ports";
import { slashName } from "../resources/resource-id";
import { BUSY_MESSAGE } from "../resources/transitions";
import { recallAnswer, recordAnswer, type RequestKey } from "../resources/repeated-requests";
import type { DeadLetterRecord } from "./model";
import type { Clock, DeadLetterRepository, TypeCatalog } from "./ports";
import { presentQueuedEvent } from "./present";
import { NO_SENSITIVE_FIELDS, redactWorkPayload } from "./redact";

export interface RetryDeps {
  repo: DeadLetterRepository;
  /** The store's resources: a retry re-queues through the same lifecycle and transaction type as apply. */
  resources: ResourceRepository;
  /** The resource types, for checking references as apply does. */
  catalog: ResourceTypes;
  clock: Clock;
  types?: TypeCatalog;
  /** After commit, so the relay publishes without waiting for its poll. */
  onEventWritten?: () => void;
  /** The operator's request id: the new event descends from the retry, not from the failed attempt. */
  correlationId?: () => string | undefined;
  /** Entries per retry-all transaction (RETRY_ALL_CHUNK when unset). */
  retryAllChunk?: number;
  /** Seals what the re-queued event resolves from sensitive values, as apply does. */
  sealer: Sealer;
}

export const notFound = (eventId: string) => new AppError("NOT_FOUND", `Dead-letter event not found: ${eventId}`);

/**
 * Re-queues a dead-lettered event: in one store transaction the entry is removed and the
 * resource gets a fresh event (new event id, so the worker's dedupe, retry count and
 * delivery count all start over) through the lifecycle, exactly as an apply `pending`
 * queues one: references checked and resolved against the dependencies' current outputs,
 * the event held (and the resource pending) while a dependency is not ready.
 *
 * The event is rebuilt from the resource row, not replayed from the stored payload: the
 * stored payload is redacted, and the point of a retry is usually that something was
 * fixed (credentials, config, a dependency), so the provider must see the current state.
 * A DELETE stays a DELETE; otherwise CREATE or UPDATE follows `provisioned`, as apply
 * decides it. A throw (busy, gone, a reference that cannot resolve) rolls back: the entry stays.
 */
export async function retryDeadLetter(deps: RetryDeps, scope: TenantScope, eventId: string, request?: RequestKey): Promise<QueuedEvent> {
  const catalog = await catalogOf(deps, scope);
  const { event, released } = await deps.resources.inScope(scope, async (tx) => {
    // A repeat of a retry that ran gets the event it queued (not 404 for its own entry).
    const prior = await recallAnswer(tx, request);
    if (prior) return { event: reviveEvent(prior.answer), released: false };
    const entry = await tx.takeDeadLetter(eventId);
    if (!entry) throw notFound(eventId);
    const target = await tx.lockResource(entry.resourceId);
    const refusal = whyNot(entry, target);
    if (refusal) throw refusal;
    const lc = new Lifecycle(tx, deps.clock.now(), correlationOf(deps, entry), deps.sealer);
    const queued = await requeue(tx, lc, entry, target!, catalog);
    // A reference that stopped resolving since the checks (the apply would not get here either).
    if (queued.status === "cancelled") throw new AppError("DEPENDENCY_FAILED", { message: target!.error ?? "Field reference resolution failed" });
    await recordAnswer(tx, request, queued);
    return { event: queued, released: lc.released };
  });
  if (released) deps.onEventWritten?.();
  const fields = (await deps.types?.sensitiveFields(event.provider, event.resourceType).catch(() => null)) ?? NO_SENSITIVE_FIELDS;
  return presentQueuedEvent(event, redactWorkPayload(event.payload, fields).payload);
}

/** An event as recorded in an answer (JSON: its dates are strings). */
function reviveEvent(answer: unknown): OutboxEventRecord {
  const e = answer as Omit<OutboxEventRecord, "createdAt" | "publishedAt"> & { createdAt: string; publishedAt: string | null };
  return { ...e, createdAt: new Date(e.createdAt), publishedAt: e.publishedAt === null ? null : new Date(e.publishedAt) };
}

/**
 * The one re-queue step of retry and retry-all: the lifecycle writes the event and the
 * resource's new state; this only picks the event type and persists the row.
 */
export async function requeue(tx: StoreTx, lc: Lifecycle, entry: DeadLetterRecord, r: ResourceRecord, catalog: ResourceDefinition[]): Promise<OutboxEventRecord> {
  await lc.record(r, "retried", entry.eventId, `retry of the dead-lettered ${entry.eventType}`);
  const event = entry.eventType === "DELETE" ? await lc.queue(r, "DELETE") : await queueChecked(tx, lc, r, r.provisioned ? "UPDATE" : "CREATE", catalog);
  await tx.updateResource(r);
  return event;
}

/** Why this entry cannot be re-queued now (null: it can). */
export function whyNot(entry: DeadLetterRecord, r: ResourceRecord | null): AppError | null {
  if (!r) return new AppError("CONFLICT", `Resource ${entry.provider}/${entry.resourceType}/${entry.resourceName} no longer exists; delete this dead-letter entry instead`);
  // Another event owns a pending or processing resource; queuing a second would break one-outstanding-event.
  if (r.lifecycleState === "pending" || r.lifecycleState === "processing") return new AppError("CONFLICT", BUSY_MESSAGE);
  if (entry.eventType === "DELETE" && !r.provisioned) {
    // Nothing to tear down: a DELETE would reach the provider with an empty config and fail again.
    return new AppError("CONFLICT", `Resource ${slashName(r)} was never provisioned: delete it again (DELETE /resources/{id}), which removes it at once, and discard this entry`);
  }
  return null;
}

export function correlationOf(deps: Pick<RetryDeps, "correlationId">, entry: DeadLetterRecord): string | null {
  return deps.correlationId?.() ?? entry.correlationId ?? null;
}

/** The types for the reference checks; without them (no worker answers) undeclared outputs are caught at resolution instead. */
export async function catalogOf(deps: Pick<RetryDeps, "catalog">, scope: TenantScope): Promise<ResourceDefinition[]> {
  return deps.catalog.list(scope).catch(() => []);
}
