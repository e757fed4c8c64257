import { EventType, HEADERS, resourceId as idOf, type TenantScope } from "@pragma/contracts";
import type { DeadLetterRecord } from "./model";
import type { Clock, TypeCatalog } from "./ports";
import type { ResourceRepository, Sealer } from "../resources/ports";
import { Lifecycle } from "../resources/lifecycle";
import { NO_SENSITIVE_FIELDS, redactText, redactWorkPayload } from "./redact";
import { attemptCountFromHeaders, attemptsFromHeaders, classifyReason, errorFromHeaders, headerString, xDeaths } from "./classify";

/** A message drained from the dead-letter queue, as the transport saw it. */
export interface DeadLetterMessage {
  body: unknown;
  headers: Record<string, unknown>;
  messageId: string;
  correlationId: string | undefined;
  /** The AMQP timestamp property: when the copy was published (the worker's dead-lettering time). */
  publishedAt: Date | null;
}

export interface IngestDeps {
  /** The store's resources: the entry is stored, and the resource failed, in one of their transactions, through the lifecycle. */
  resources: ResourceRepository;
  clock: Clock;
  types?: TypeCatalog;
  /** Opens the sealed values the dead-lettered work message carried, to scrub error text of them; the lifecycle's sealing. */
  sealer: Sealer;
}

export type IngestOutcome =
  | { kind: "stored"; eventId: string; resourceFailed: boolean }
  | { kind: "duplicate"; eventId: string; resourceFailed: boolean }
  /** No tenant or no resource identity: nobody could see or retry it. */
  | { kind: "unattributable"; why: string };

const text = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : undefined);
const obj = (v: unknown): Record<string, unknown> | null => (v && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : null);

/**
 * Stores one dead letter: redacted, deduplicated by event id, and with the resource
 * failed in the same transaction when nothing else will fail it (the broker dead-lettered
 * the event without any result reaching the store): a store transaction like an apply's,
 * the failure written by the lifecycle (Lifecycle.failEvent, as a worker's failed result is).
 */
export async function ingestDeadLetter(deps: IngestDeps, msg: DeadLetterMessage): Promise<IngestOutcome> {
  const work = obj(msg.body) ?? {};
  const h = msg.headers;
  const scope: Partial<TenantScope> = {
    org_id: headerString(h, HEADERS.orgId) ?? text(work.org_id),
    project_id: headerString(h, HEADERS.projectId) ?? text(work.project_id),
    space_id: headerString(h, HEADERS.spaceId) ?? text(work.space_id),
  };
  const eventId = text(work.event_id) ?? text(msg.messageId);
  const provider = text(work.provider);
  const resourceType = text(work.resource_type);
  const resourceName = text(work.resource_name);
  const eventType = EventType.safeParse(work.event_type);
  if (!scope.org_id || !scope.project_id || !scope.space_id) return { kind: "unattributable", why: "no tenant ids in headers or payload" };
  if (!eventId || !provider || !resourceType || !resourceName || !eventType.success) {
    return { kind: "unattributable", why: "not a resource event (event id, provider, type, name or event type missing)" };
  }
  const tenant = scope as TenantScope;
  const resourceId = text(work.resource_id) ?? headerString(h, HEADERS.resourceId) ?? idOf({ provider, resource: resourceType, name: resourceName });
  const now = deps.clock.now();
  const death = xDeaths(h)[0];
  const failedAt = death?.time ?? msg.publishedAt ?? now;

  const fields = (await deps.types?.sensitiveFields(provider, resourceType).catch(() => null)) ?? NO_SENSITIVE_FIELDS;
  const { payload, secrets } = redactWorkPayload(work, fields);
  // Every sensitive value the event carried (spec §4.3): the worker scrubbed its errors
  // already; this is the store's own check, for whatever wrote the headers.
  const sealed = openedSecrets(deps.sealer, work);
  const scrub = (s: string) => redactText(s, [...secrets, ...sealed]);
  const errorMessage = scrub(errorFromHeaders(h));

  // The worker's attempt history travels in the dead letter (x-attempt-history); the store
  // scrubs its errors once more, as it does the final one.
  const attempts = attemptsFromHeaders(h, failedAt, errorMessage).map((a) => ({ at: a.at, error: scrub(a.error) }));

  const record: DeadLetterRecord = {
    eventId,
    scope: tenant,
    resourceId,
    provider,
    resourceType,
    resourceName,
    eventType: eventType.data,
    payload,
    errorMessage,
    reason: classifyReason(h),
    attemptCount: Math.max(attemptCountFromHeaders(h), attempts.length),
    attempts,
    correlationId: msg.correlationId ?? null,
    failedAt,
    createdAt: now,
  };
  const { inserted, resourceFailed } = await deps.resources.inScope(tenant, async (tx) => {
    // The entry first, then the resource: the order a retry takes its locks in.
    const stored = await tx.insertDeadLetter(record);
    const lc = new Lifecycle(tx, now, null, deps.sealer);
    // The resource's history says it was dead-lettered (that step stands for its failure too).
    await lc.recordDeadLetter(record);
    const r = await tx.lockResource(resourceId);
    const failed = r ? await lc.failEvent(r, eventId, errorMessage, "recorded") : false;
    return { inserted: stored, resourceFailed: failed };
  });
  return { kind: inserted ? "stored" : "duplicate", eventId, resourceFailed };
}

/** The values of the sealed secrets in a work message; none if a key is missing (then the heuristics still apply). */
function openedSecrets(sealer: Pick<Sealer, "openDeep">, work: Record<string, unknown>): string[] {
  try {
    return sealer.openDeep({ config: work.config, previous_config: work.previous_config, outputs: work.outputs }).secrets;
  } catch {
    return [];
  }
}
