import { OBSERVE, observeMessages, observeRequests } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { Logger } from "@pragma/logger";
import { handler, handlerTable, type Broker, type ConsumerHandle, type RpcHandlers } from "@pragma/messaging";
import { recordObservation, refreshResource, type DriftDeps } from "../domain/resources/drift";
import type { ObserveScheduler } from "../observe/observe-scheduler";

/**
 * Workers' observation results (pragma.observations): drift recorded, healed or reported
 * (drift.ts), and the cycle's next observation scheduled. Redelivery is harmless: the
 * cycle has moved on to a new tick, so a result already taken is not taken again.
 */
export async function consumeObservations(broker: Broker, deps: DriftDeps & { scheduler: ObserveScheduler; logger: Logger }, prefetch: number): Promise<ConsumerHandle> {
  return broker.consume(
    OBSERVE.resultsQueue,
    observeMessages.observed,
    async (d) => {
      const outcome = await recordObservation(deps, d.payload);
      if (outcome.kind === "next") await deps.scheduler.schedule(outcome.resource, outcome.intervalMs, outcome.tick);
    },
    { prefetch },
  );
}

/** POST /resources/{id}/refresh: a fresh observation, published at once. */
export function observeHandlers(deps: Pick<DriftDeps, "repo" | "clock"> & { scheduler: ObserveScheduler }): RpcHandlers {
  return handlerTable(
    handler(observeRequests.refresh, async ({ scope, id }) => {
      const r = await refreshResource(deps, scope, id);
      await deps.scheduler.now(r).catch((err: unknown) => {
        throw new AppError("UNAVAILABLE", `No worker observes ${r.provider} resources right now (${err instanceof Error ? err.message : String(err)})`);
      });
      return { resource_id: r.resourceId, observation_id: r.observationId! };
    }),
  );
}
