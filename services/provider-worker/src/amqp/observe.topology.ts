import { OBSERVE } from "@pragma/contracts";
import type { TopologySpec } from "@pragma/messaging";

/**
 * The observe queues of the providers a replica serves (packages/contracts/src/observe.ts): quorum, fed
 * by pragma.observe (direct, routing key = provider), into which the store's delay
 * queues dead-letter. A message that keeps failing is dropped after a few deliveries
 * (the store's sweeper restarts its resource's cycle once it is overdue,
 * services/resource-store/src/observe/observe-sweeper.ts): an observation is a read,
 * nothing is lost with it.
 */
export function observeTopology(providers: readonly string[]): TopologySpec {
  return {
    exchanges: [{ name: OBSERVE.exchange, type: "direct" }],
    queues: providers.map((p) => ({ name: OBSERVE.queueFor(p), arguments: { "x-queue-type": "quorum", "x-delivery-limit": 5 } })),
    bindings: providers.map((p) => ({ source: OBSERVE.exchange, destination: OBSERVE.queueFor(p), routingKey: p })),
  };
}
