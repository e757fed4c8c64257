import { BUILD_QUEUE_ARGS, EXCHANGES, EXCHANGE_TYPES, PROVIDER_QUEUES, PUSHED_WORK_KEY, QUEUES, RPC_QUEUES, WORK_DELIVERY_LIMIT } from "@pragma/contracts";
import { mergeTopologies, rpcQueueSpec, type TopologySpec } from "@pragma/messaging";
import { observeTopology } from "./observe.topology";

const QUORUM_AT_LEAST_ONCE = {
  "x-queue-type": "quorum",
  "x-dead-letter-strategy": "at-least-once",
  // at-least-once dead-lettering requires reject-publish: a full queue refuses new
  // messages (the publisher's confirm fails and it retries) instead of dropping old ones.
  "x-overflow": "reject-publish",
} as const;

/**
 * Everything the worker needs on the broker, as data (infra exports the same spec).
 *
 * - pragma.work (direct) → work.<provider>: quorum, bounded deliveries, dead letters
 *   to pragma.dlx at-least-once. Competing consumers across replicas; per-resource
 *   exclusion is a Redis lease (see README "Ordering").
 * - pragma.retry (direct) → pragma.retry.<ms>ms: quorum delay queues with a fixed TTL
 *   whose expired messages dead-letter back to pragma.work. The tier is chosen by the
 *   routing key (the queue name) and the provider travels as a CC routing key, which
 *   dead-lettering keeps, so the message re-enters work.<provider>.
 * - pragma.dlx (topic) → pragma.dead-letter bound "#": one inspectable queue that the
 *   resource store drains; the provider stays the routing key for per-provider taps.
 * - pragma.results (topic): declared so results are routable once the store has bound
 *   its queue; the worker never consumes it.
 */
export function workerTopology(providers: readonly string[], tiersMs: readonly number[], pushed = false): TopologySpec {
  const spec: TopologySpec = {
    exchanges: [
      { name: EXCHANGES.work, type: EXCHANGE_TYPES[EXCHANGES.work] },
      { name: EXCHANGES.results, type: EXCHANGE_TYPES[EXCHANGES.results] },
      { name: EXCHANGES.deadLetter, type: EXCHANGE_TYPES[EXCHANGES.deadLetter] },
      { name: EXCHANGES.retry, type: EXCHANGE_TYPES[EXCHANGES.retry] },
    ],
    queues: [{ name: QUEUES.deadLetter, arguments: { "x-queue-type": "quorum" } }],
    bindings: [{ source: EXCHANGES.deadLetter, destination: QUEUES.deadLetter, routingKey: "#" }],
  };
  for (const p of providers) {
    spec.queues.push({
      name: QUEUES.workFor(p),
      arguments: { ...QUORUM_AT_LEAST_ONCE, "x-delivery-limit": WORK_DELIVERY_LIMIT, "x-dead-letter-exchange": EXCHANGES.deadLetter },
    });
    spec.bindings.push({ source: EXCHANGES.work, destination: QUEUES.workFor(p), routingKey: p });
  }
  if (pushed) {
    // work.pushed: every org's pushed providers; the worker dispatches by (org, provider).
    spec.queues.push({
      name: PROVIDER_QUEUES.pushedWork,
      arguments: { ...QUORUM_AT_LEAST_ONCE, "x-delivery-limit": WORK_DELIVERY_LIMIT, "x-dead-letter-exchange": EXCHANGES.deadLetter },
    });
    spec.bindings.push({ source: EXCHANGES.work, destination: PROVIDER_QUEUES.pushedWork, routingKey: PUSHED_WORK_KEY });
    spec.queues.push({ name: PROVIDER_QUEUES.builds, arguments: { ...BUILD_QUEUE_ARGS } });
  }
  for (const ms of new Set(tiersMs)) {
    spec.queues.push({
      name: QUEUES.retryTier(ms),
      arguments: { ...QUORUM_AT_LEAST_ONCE, "x-message-ttl": ms, "x-dead-letter-exchange": EXCHANGES.work },
    });
    spec.bindings.push({ source: EXCHANGES.retry, destination: QUEUES.retryTier(ms), routingKey: QUEUES.retryTier(ms) });
  }
  return spec;
}

/** Everything a worker replica declares: the work topology of the providers it serves, and its request queue. */
export function workerBrokerTopology(providers: readonly string[], tiersMs: readonly number[], pushed = false): TopologySpec {
  return mergeTopologies(workerTopology(providers, tiersMs, pushed), observeTopology(providers), rpcQueueSpec(RPC_QUEUES.providerWorker));
}
