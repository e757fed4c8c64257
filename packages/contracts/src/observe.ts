import { z } from "zod";
import { defineMessage, defineRequest } from "./message";
import { TenantScope, WorkTarget, timestamp } from "./common";
import { EXCHANGES } from "./topology";

/**
 * Drift (api.md §9): provisioned resources of a type with an `observe` hook are observed
 * on a schedule the broker carries, and on demand (POST /resources/{id}/refresh).
 *
 * The cycle: the store publishes an observe message into a delay queue (a TTL'd queue per
 * interval tier, OBSERVE.delayQueue) whose expired messages dead-letter into the
 * provider's observe queue (OBSERVE.queueFor); a worker reads the real object and
 * publishes what differs (`observed`) to pragma.results; the store records drift (and
 * heals, or only reports) and publishes the next observe into the delay queue. Each
 * resource has one live observation id: a message with another (superseded by a later
 * apply or refresh) ends its cycle at the store. Within it, each message carries a tick:
 * the store takes a result only if its tick is the one it last sent, so a cycle the
 * store's sweeper restarted (a message lost, a resource never observed) and a late message
 * of the old chain never run side by side. No process holds the schedule's timer.
 */
export const OBSERVE = {
  /** Direct; routing key = provider. The observe queues are bound here. */
  exchange: "pragma.observe",
  /** Direct; routing key = the delay queue's name; the provider travels as a CC routing key, which dead-lettering keeps. */
  delayExchange: "pragma.observe.delay",
  queueFor: (provider: string) => `observe.${provider}`,
  delayQueue: (ms: number) => `pragma.observe.delay.${ms}ms`,
  /** The store's queue of observation results (bound on pragma.results). */
  resultsQueue: "pragma.observations",
  resultRoutingKey: (provider: string) => `provider.observed.${provider}`,
} as const;

export const DRIFT_POLICIES = ["heal", "report"] as const;
export const DriftPolicy = z.enum(DRIFT_POLICIES);
export type DriftPolicy = z.infer<typeof DriftPolicy>;

/** What differs from what was applied: field names (never values); `exists` is listed when the object is gone. */
export const Drift = z.object({ detected_at: timestamp(), fields: z.array(z.string()) });
export type Drift = z.infer<typeof Drift>;

/** A resource to observe, as applied: config and outputs as stored (sensitive values sealed; the worker opens them). */
export const ObserveWork = z.object({
  observation_id: z.string(),
  /** The message's place in its cycle (absent on the first one after an apply or refresh); the result echoes it. */
  tick: z.string().optional(),
  ...WorkTarget.shape,
  config: z.record(z.string(), z.unknown()),
  outputs: z.record(z.string(), z.unknown()).nullable(),
});
export type ObserveWork = z.infer<typeof ObserveWork>;

export const Observed = z.object({
  observation_id: z.string(),
  /** The observe message's tick, echoed. */
  tick: z.string().optional(),
  resource_id: z.string(),
  provider: z.string(),
  org_id: z.string(),
  project_id: z.string(),
  space_id: z.string(),
  observed_at: timestamp(),
  /**
   * observed: `drift` lists what differs (empty: nothing); not_observable: the type has no
   * observe hook (the cycle ends); error: the object could not be read (redacted message;
   * drift unchanged, the cycle goes on).
   */
  outcome: z.enum(["observed", "not_observable", "error"]),
  drift: z.array(z.string()),
  error: z.string().optional(),
  /** The type's observe interval (its own, or the worker's default): the store schedules the next one after it. */
  interval_ms: z.number().int().positive(),
});
export type Observed = z.infer<typeof Observed>;

export const observeMessages = {
  /** Observe now: straight to the provider's observe queue (a scheduled one names the delay exchange instead, ObserveScheduler). */
  observe: defineMessage("resources.resource.observe.v1", ObserveWork, { exchange: OBSERVE.exchange, routingKey: (w) => w.provider }),
  observed: defineMessage("resources.resource.observed.v1", Observed, { exchange: EXCHANGES.results, routingKey: (o) => OBSERVE.resultRoutingKey(o.provider) }),
} as const;

export const RefreshAccepted = z.object({ resource_id: z.string(), observation_id: z.string() });
export type RefreshAccepted = z.infer<typeof RefreshAccepted>;

export const observeRequests = {
  /** Observe now (a fresh observation id; the scheduled cycle continues from its result). CONFLICT unless the resource is ready. */
  refresh: defineRequest("resources.resource.refresh.v1", z.object({ scope: TenantScope, id: z.string() }), RefreshAccepted),
} as const;
