import type { TenantScope } from "@pragma/contracts";
import type { Clock, ResourceRepository } from "./ports";
import { Lifecycle } from "./lifecycle";
import { canonical } from "./apply-resource";

export type WorkerResult =
  | { kind: "started"; eventId: string; resourceId: string; scope: TenantScope }
  | { kind: "succeeded"; eventId: string; resourceId: string; scope: TenantScope; eventType: string; outputs: Record<string, unknown> }
  | { kind: "failed"; eventId: string; resourceId: string; scope: TenantScope; error: string };

export type ResultOutcome = "applied" | "stale";

export interface ResultDeps {
  repo: ResourceRepository;
  clock: Clock;
  /** After commit, when the result released or queued events. */
  onEventWritten?: () => void;
}

/**
 * Moves a resource along processing → ready | failed. A result whose event is not
 * the resource's pending_event_id (a duplicate, or a late result for superseded
 * work) changes nothing, so redelivered results are harmless. What the result
 * unblocks (held dependents, owners waiting to be deleted, re-runs for changed
 * outputs) is written in the same transaction.
 */
export async function recordResult(deps: ResultDeps, result: WorkerResult): Promise<ResultOutcome> {
  let lc: Lifecycle | undefined;
  const outcome = await deps.repo.inScope(result.scope, async (tx): Promise<ResultOutcome> => {
    const r = await tx.lockResource(result.resourceId);
    if (!r || r.pendingEventId !== result.eventId) return "stale";
    const now = deps.clock.now();
    lc = new Lifecycle(tx, now, null);

    switch (result.kind) {
      case "started":
        if (r.lifecycleState !== "pending") return "stale";
        await tx.updateResource({ ...r, lifecycleState: "processing", updatedAt: now });
        return "applied";
      case "succeeded": {
        if (r.lifecycleState !== "pending" && r.lifecycleState !== "processing") return "stale";
        if (result.eventType === "DELETE") {
          await lc.remove(r);
          return "applied";
        }
        const event = await tx.getEvent(result.eventId);
        const outputsChanged = JSON.stringify(canonical(r.outputs)) !== JSON.stringify(canonical(result.outputs));
        const ready = {
          ...r,
          lifecycleState: "ready" as const,
          outputs: result.outputs,
          error: null,
          provisioned: true,
          // What the provider actually ran with (references resolved): the next UPDATE's previous_config.
          appliedConfig: (event?.payload.config as Record<string, unknown> | undefined) ?? r.config,
          pendingEventId: null,
          staleInputs: false,
          updatedAt: now,
        };
        // Inputs changed while this ran: go again first, so dependents wait for the fresh run.
        if (r.staleInputs) await lc.queue(ready, "UPDATE");
        await tx.updateResource(ready);
        await lc.onReady(ready, { outputsChanged, eventType: result.eventType === "CREATE" ? "CREATE" : "UPDATE" });
        return "applied";
      }
      case "failed":
        if (r.lifecycleState !== "pending" && r.lifecycleState !== "processing") return "stale";
        await tx.updateResource({ ...r, lifecycleState: "failed", error: result.error, pendingEventId: null, staleInputs: false, updatedAt: now });
        return "applied";
    }
  });
  if (lc?.released) deps.onEventWritten?.();
  return outcome;
}
