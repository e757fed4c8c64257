import type { TenantScope } from "@pragma/contracts";
import type { Clock, ResourceRepository } from "./ports";

export type WorkerResult =
  | { kind: "started"; eventId: string; resourceId: string; scope: TenantScope }
  | { kind: "succeeded"; eventId: string; resourceId: string; scope: TenantScope; eventType: string; outputs: Record<string, unknown> }
  | { kind: "failed"; eventId: string; resourceId: string; scope: TenantScope; error: string };

export type ResultOutcome = "applied" | "stale";

/**
 * Moves a resource along processing → ready | failed. A result whose event is not
 * the resource's pending_event_id (a duplicate, or a late result for superseded
 * work) changes nothing, so redelivered results are harmless.
 */
export async function recordResult(deps: { repo: ResourceRepository; clock: Clock }, result: WorkerResult): Promise<ResultOutcome> {
  return deps.repo.transaction(async (tx) => {
    const r = await tx.lockResource(result.scope, result.resourceId);
    if (!r || r.pendingEventId !== result.eventId) return "stale";
    const now = deps.clock.now();

    switch (result.kind) {
      case "started":
        if (r.lifecycleState !== "pending") return "stale";
        await tx.updateResource({ ...r, lifecycleState: "processing", updatedAt: now });
        return "applied";
      case "succeeded":
        if (r.lifecycleState !== "pending" && r.lifecycleState !== "processing") return "stale";
        if (result.eventType === "DELETE") {
          await tx.deleteResource(r.scope, r.resourceId);
          return "applied";
        }
        await tx.updateResource({
          ...r,
          lifecycleState: "ready",
          outputs: result.outputs,
          error: null,
          provisioned: true,
          appliedConfig: r.config,
          pendingEventId: null,
          updatedAt: now,
        });
        return "applied";
      case "failed":
        if (r.lifecycleState !== "pending" && r.lifecycleState !== "processing") return "stale";
        await tx.updateResource({ ...r, lifecycleState: "failed", error: result.error, pendingEventId: null, updatedAt: now });
        return "applied";
    }
  });
}
