import { newId, newUlid } from "@pragma/ids";
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
  /** OBSERVE_OVERDUE_GRACE_MS (overdueAfterMs). */
  overdueGraceMs: number;
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
  /** Observe again after intervalMs, with the cycle's new tick. */
  | { kind: "next"; resource: ResourceRecord; intervalMs: number; tick: string };

/**
 * How long after a result its cycle is overdue when no later result came: three intervals
 * (the delay queue's jitter, a backlog of observations, a slow worker) and a grace
 * (OBSERVE_OVERDUE_GRACE_MS, a minute). The sweeper restarts it then (observe-sweeper.ts).
 */
export function overdueAfterMs(intervalMs: number, graceMs: number): number {
  return 3 * intervalMs + graceMs;
}

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
    const now = deps.clock.now();
    // The cycle's next tick; a result that is not the one the cycle waits for ends here.
    const tick = newUlid();
    const dueAt = o.outcome === "not_observable" ? null : new Date(now.getTime() + overdueAfterMs(o.interval_ms, deps.overdueGraceMs));
    if (!(await tx.advanceObservation(r.resourceId, o.observation_id, o.tick, { tick, dueAt }))) return { kind: "stale" };
    if (o.outcome === "not_observable") return { kind: "not_observable" };
    if (o.outcome === "error") return { kind: "next", resource: r, intervalMs: o.interval_ms, tick };
    const lc = new Lifecycle(tx, now, null, deps.sealer);
    const fields = [...new Set(o.drift)].sort();
    if (fields.length === 0) {
      if (!r.drift) return { kind: "next", resource: r, intervalMs: o.interval_ms, tick };
      // Reported drift that went away (someone put it back by hand).
      const fixed: ResourceRecord = { ...r, drift: null, updatedAt: lc.now };
      await tx.updateResource(fixed);
      await lc.record(r, "healed", null, "the real object matches what was applied again");
      return { kind: "next", resource: fixed, intervalMs: o.interval_ms, tick };
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
    return { kind: "next", resource: next, intervalMs: o.interval_ms, tick };
  });
  if (released) deps.onEventWritten?.();
  return outcome;
}

/**
 * The sweeper's restart of one resource's cycle (observe-sweeper.ts): a ready resource whose
 * cycle is overdue (a message lost, a publish that failed after commit) or that was never
 * observed (ready before observation was on) gets a new tick, to be scheduled after commit;
 * a late message of the old chain then ends at its result. A resource without an
 * observation id yet (ready before this version) gets one: its only write to `resources`.
 * Null: nothing to do (no longer ready, or a result or another replica came first).
 */
export async function restartObservation(
  deps: Pick<DriftDeps, "repo" | "clock" | "overdueGraceMs">,
  scope: TenantScope,
  resourceId: string,
  intervalMs: number,
): Promise<{ resource: ResourceRecord; tick: string } | null> {
  return deps.repo.inScope(scope, async (tx) => {
    const found = await tx.lockResource(resourceId);
    if (!found || found.lifecycleState !== "ready" || !found.provisioned || !found.appliedConfig) return null;
    const resource = found.observationId ? found : { ...found, observationId: newId("observation") };
    const tick = newUlid();
    if (!(await tx.restartObservation(resource.resourceId, resource.observationId!, tick, deps.clock.now(), overdueAfterMs(intervalMs, deps.overdueGraceMs)))) return null;
    if (resource !== found) await tx.updateResource(resource);
    return { resource, tick };
  });
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
