import { newId } from "@pragma/ids";
import { AppError } from "@pragma/errors";
import type { Observed, TenantScope } from "@pragma/contracts";
import type { ResourceRecord } from "./model";
import type { Clock, ResourceRepository, Sealer } from "./ports";
import { Lifecycle } from "./lifecycle";
import { historyText } from "./history";
import { normalizeResourceId } from "./resource-id";

/**
 * Drift (api.md §9): what the store does with a worker's observation of a resource, and
 * with a refresh. The observation cycle itself is the broker's (packages/contracts/src/observe.ts);
 * this decides, per result, whether the resource drifted, heals it through the normal
 * lifecycle (an UPDATE queued by Lifecycle.queue: pending → ready) or only records it,
 * and whether the cycle goes on.
 */
export interface DriftDeps {
  repo: ResourceRepository;
  clock: Clock;
  sealer: Sealer;
  /** After commit, when a heal queued an event. */
  onEventWritten?: () => void;
}

export type ObservationOutcome =
  /** Not the resource's live observation (a later apply or refresh superseded it), or the resource is not ready: the cycle ends. */
  | { kind: "stale" }
  /** The type has no observe hook: the cycle ends. */
  | { kind: "not_observable" }
  /** Healing: an UPDATE was queued; its success starts a fresh cycle. */
  | { kind: "healing" }
  /** Observe again after intervalMs. */
  | { kind: "next"; resource: ResourceRecord; intervalMs: number };

const GONE = "exists";

function describe(fields: string[]): string {
  return fields.includes(GONE) ? "the real object is gone" : `differs from what was applied in: ${fields.join(", ")}`;
}

export async function recordObservation(deps: DriftDeps, o: Observed): Promise<ObservationOutcome> {
  const scope: TenantScope = { org_id: o.org_id, project_id: o.project_id, space_id: o.space_id };
  let released = false;
  const outcome = await deps.repo.inScope(scope, async (tx): Promise<ObservationOutcome> => {
    const r = await tx.lockResource(o.resource_id);
    if (!r || r.observationId !== o.observation_id || r.lifecycleState !== "ready" || !r.provisioned) return { kind: "stale" };
    if (o.outcome === "not_observable") return { kind: "not_observable" };
    if (o.outcome === "error") return { kind: "next", resource: r, intervalMs: o.interval_ms };
    const lc = new Lifecycle(tx, deps.clock.now(), null, deps.sealer);
    const fields = [...new Set(o.drift)].sort();
    if (fields.length === 0) {
      if (!r.drift) return { kind: "next", resource: r, intervalMs: o.interval_ms };
      // Reported drift that went away (someone put it back by hand).
      const fixed: ResourceRecord = { ...r, drift: null, updatedAt: lc.now };
      await tx.updateResource(fixed);
      await lc.record(r, "healed", null, "the real object matches what was applied again");
      return { kind: "next", resource: fixed, intervalMs: o.interval_ms };
    }
    const same = r.drift !== null && r.drift.fields.join(",") === fields.join(",");
    const next: ResourceRecord = same ? { ...r } : { ...r, drift: { detectedAt: lc.now, fields }, updatedAt: lc.now };
    if (!same) await lc.record(r, "drift_detected", null, historyText(`${describe(fields)} (policy: ${r.driftPolicy})`));
    if (r.driftPolicy === "heal") {
      // Re-applied as any UPDATE is: pending → processing → ready, with the config last applied.
      await lc.queue(next, "UPDATE");
      await tx.updateResource(next);
      released = lc.released;
      return { kind: "healing" };
    }
    if (!same) await tx.updateResource(next);
    return { kind: "next", resource: next, intervalMs: o.interval_ms };
  });
  if (released) deps.onEventWritten?.();
  return outcome;
}

/**
 * POST /resources/{id}/refresh: a fresh observation id for a ready resource (the cycle in
 * flight, if any, ends at its next result), to be observed at once.
 */
export async function refreshResource(deps: Pick<DriftDeps, "repo" | "clock">, scope: TenantScope, rawId: string): Promise<ResourceRecord> {
  const id = normalizeResourceId(rawId);
  const r = id
    ? await deps.repo.inScope(scope, async (tx) => {
        const found = await tx.lockResource(id);
        if (!found) return null;
        if (found.lifecycleState !== "ready" || !found.provisioned) {
          throw new AppError("CONFLICT", `Only a ready resource can be refreshed; this one is ${found.lifecycleState}`);
        }
        const next = { ...found, observationId: newId("observation") };
        await tx.updateResource(next);
        return next;
      })
    : null;
  if (!r) throw new AppError("NOT_FOUND", `Resource not found: ${rawId}`);
  return r;
}
