import { newId } from "@pragma/ids";
import { resourceId as idOf, type ApplyResourceBody, type ResourceWork, type TenantScope } from "@pragma/contracts";
import type { OutboxEventRecord, ResourceRecord } from "./model";
import type { Clock, ResourceRepository, StoreTx } from "./ports";
import { assertModifiable } from "./transitions";

export interface ApplyDeps {
  repo: ResourceRepository;
  clock: Clock;
  /** Called after commit when an event was written, so the relay publishes without waiting for its poll. */
  onEventWritten?: () => void;
  correlationId?: () => string | undefined;
}

/**
 * Applies a resource per the lifecycle rules (spec §4): the state change and its
 * outbox event commit in one transaction, so an accepted `pending` apply always
 * has exactly one event to publish.
 */
export async function applyResource(deps: ApplyDeps, scope: TenantScope, body: ApplyResourceBody): Promise<ResourceRecord> {
  const id = idOf(body);
  const wantPending = body.lifecycle_state === "pending";
  let wroteEvent = false;

  const result = await deps.repo.transaction(async (tx) => {
    wroteEvent = false;
    const now = deps.clock.now();
    const existing = await tx.lockResource(scope, id);
    const tags = body.tags === undefined ? existing?.tags ?? null : body.tags;

    if (!existing) {
      const record: ResourceRecord = {
        rowId: newId("resource"),
        scope,
        resourceId: id,
        provider: body.provider,
        resourceType: body.resource,
        name: body.name,
        config: body.config,
        appliedConfig: null,
        dependencies: body.dependencies ?? [],
        ownerReferences: body.owner_references ?? [],
        outputs: {},
        error: null,
        lifecycleState: "draft",
        pendingEventId: null,
        provisioned: false,
        tags,
        createdAt: now,
        updatedAt: now,
      };
      if (wantPending) {
        await queueEvent(deps, tx, record, now);
        wroteEvent = true;
      }
      await tx.insertResource(record);
      return record;
    }

    assertModifiable(existing.lifecycleState);
    const configChanged = !sameJson(existing.config, body.config);
    const next: ResourceRecord = {
      ...existing,
      config: body.config,
      dependencies: body.dependencies ?? existing.dependencies,
      ownerReferences: body.owner_references ?? existing.ownerReferences,
      tags,
      updatedAt: now,
    };

    if (wantPending) {
      await queueEvent(deps, tx, next, now);
      wroteEvent = true;
    } else if (body.lifecycle_state === "draft" || configChanged) {
      // A config change without asking for pending parks the resource as a draft;
      // it stays `provisioned`, so its next pending apply is an UPDATE.
      next.lifecycleState = "draft";
    }
    await tx.updateResource(next);
    return next;
  });

  if (wroteEvent) deps.onEventWritten?.();
  return result;
}

async function queueEvent(deps: ApplyDeps, tx: StoreTx, r: ResourceRecord, now: Date): Promise<void> {
  const eventId = newId("event");
  const eventType = r.provisioned ? "UPDATE" : "CREATE";
  const previousConfig = r.provisioned ? r.appliedConfig : null;
  const work: ResourceWork = {
    event_id: eventId,
    event_type: eventType,
    resource_id: r.resourceId,
    provider: r.provider,
    resource_type: r.resourceType,
    resource_name: r.name,
    org_id: r.scope.org_id,
    project_id: r.scope.project_id,
    space_id: r.scope.space_id,
    config: r.config,
    previous_config: previousConfig,
    outputs: r.provisioned ? r.outputs : null,
    created_at: now.toISOString(),
  };
  const event: OutboxEventRecord = {
    eventId,
    scope: r.scope,
    resourceId: r.resourceId,
    eventType,
    provider: r.provider,
    resourceType: r.resourceType,
    resourceName: r.name,
    payload: work as unknown as Record<string, unknown>,
    previousConfig,
    correlationId: deps.correlationId?.() ?? null,
    status: "pending",
    createdAt: now,
    publishedAt: null,
  };
  r.lifecycleState = "pending";
  r.pendingEventId = eventId;
  r.error = null;
  await tx.insertEvent(event);
}

function sameJson(a: unknown, b: unknown): boolean {
  return JSON.stringify(canonical(a)) === JSON.stringify(canonical(b));
}

function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v as object).sort().map((k) => [k, canonical((v as Record<string, unknown>)[k])]));
  }
  return v;
}
