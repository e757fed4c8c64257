import { AppError } from "@pragma/errors";
import type { Logger } from "@pragma/logger";
import { observeMessages, OBSERVE, type Observed, type ObserveWork } from "@pragma/contracts";
import type { Broker, ConsumerHandle } from "@pragma/messaging";
import type { Observation, ResourceType } from "@pragma/provider-sdk";
import { driftFields } from "../domain/observe";
import { bounded, inspectContext, type RpcDeps } from "./rpc.handlers";

/** The default observe interval for a type that declares none (config OBSERVE_INTERVAL_MS). */
export type ObserveDeps = RpcDeps & { defaultIntervalMs: number };

function typeOf(deps: ObserveDeps, work: ObserveWork): ResourceType | undefined {
  return deps.served.includes(work.provider) ? deps.providers.get(work.provider)?.types.get(work.resource_type) : undefined;
}

/**
 * Runs the type's observe hook (read-only, bounded by the inspect timeout) and answers
 * what differs. Never throws for the hook's failure: that is an `error` outcome, its
 * message scrubbed of every secret the resource carries.
 */
export async function observeResource(deps: ObserveDeps, work: ObserveWork): Promise<Observed> {
  const type = typeOf(deps, work);
  const base = {
    observation_id: work.observation_id,
    ...(work.tick !== undefined ? { tick: work.tick } : {}),
    resource_id: work.resource_id,
    provider: work.provider,
    org_id: work.org_id,
    project_id: work.project_id,
    space_id: work.space_id,
    interval_ms: type?.observeIntervalSeconds ? type.observeIntervalSeconds * 1000 : deps.defaultIntervalMs,
  };
  if (!type?.observe) return { ...base, observed_at: new Date().toISOString(), outcome: "not_observable", drift: [] };
  const observe = type.observe.bind(type);
  const inspected = { ...work, outputs: work.outputs };
  try {
    let applied: { config: Record<string, unknown>; outputs: Record<string, unknown> | null } = { config: {}, outputs: null };
    const seen: Observation = await bounded(deps, inspected, "observe", (signal) => {
      const ctx = inspectContext(deps, type, inspected, signal);
      applied = { config: ctx.config as Record<string, unknown>, outputs: (ctx.outputs as Record<string, unknown> | null) ?? null };
      return observe(ctx);
    });
    return { ...base, observed_at: new Date().toISOString(), outcome: "observed", drift: driftFields(applied, seen) };
  } catch (err) {
    // bounded() has redacted the provider's message already.
    const error = err instanceof AppError ? err.message : "observe failed";
    return { ...base, observed_at: new Date().toISOString(), outcome: "error", drift: [], error };
  }
}

/**
 * Consumes a provider's observe queue (OBSERVE.queueFor): each message is one read of the
 * real object, answered to the store on pragma.results. Prefetch bounds how many run at
 * once on this replica, so a burst of due observations queues in the broker instead of
 * stampeding the database; replicas share the queue.
 */
export async function consumeObservations(broker: Broker, provider: string, prefetch: number, deps: ObserveDeps, logger: Logger): Promise<ConsumerHandle> {
  return broker.consume(
    OBSERVE.queueFor(provider),
    observeMessages.observe,
    async (d) => {
      const observed = await observeResource(deps, d.payload);
      if (observed.outcome === "error") logger.warn({ resourceId: observed.resource_id, error: observed.error }, "observe failed");
      await broker.publish(observeMessages.observed, observed);
    },
    { prefetch },
  );
}
