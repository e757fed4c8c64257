import { BUILD_QUEUE_ARGS, EXCHANGES, EXCHANGE_TYPES, PROVIDER_QUEUES, PUSHED_WORK_KEY, QUEUES, QUORUM_DLX_ARGS, RPC_QUEUES, WORK_DELIVERY_LIMIT } from "@pragma/contracts";
import { mergeTopologies, rpcQueueSpec, type TopologySpec } from "@pragma/messaging";
import { deadLetterTopology } from "./dead-letter.consumer";

/** What the resource store needs to exist before it publishes or consumes. */
export const storeTopology: TopologySpec = {
  exchanges: [
    { name: EXCHANGES.work, type: EXCHANGE_TYPES[EXCHANGES.work] },
    { name: EXCHANGES.results, type: EXCHANGE_TYPES[EXCHANGES.results] },
    { name: EXCHANGES.deadLetter, type: EXCHANGE_TYPES[EXCHANGES.deadLetter] },
    // Change notifications for the gateways' caches (ChangeFeed).
    { name: EXCHANGES.events, type: EXCHANGE_TYPES[EXCHANGES.events] },
  ],
  queues: [
    { name: QUEUES.results, arguments: { ...QUORUM_DLX_ARGS } },
    // Builds of pushed providers (published to the default exchange); the workers declare it the same way.
    { name: PROVIDER_QUEUES.builds, arguments: { ...BUILD_QUEUE_ARGS } },
    // Pushed providers' events: declared here too, so the relay's first one is routable before any worker started.
    { name: PROVIDER_QUEUES.pushedWork, arguments: { ...QUORUM_DLX_ARGS, "x-delivery-limit": WORK_DELIVERY_LIMIT } },
  ],
  bindings: [
    { source: EXCHANGES.work, destination: PROVIDER_QUEUES.pushedWork, routingKey: PUSHED_WORK_KEY },
    { source: EXCHANGES.results, destination: QUEUES.results, routingKey: "provider.event.#" },
  ],
};

export const STORE_RPC_QUEUE = RPC_QUEUES.resourceStore;

/** Everything a resource-store replica declares: the above, its request queue, and the dead-letter queue it drains. */
export const storeBrokerTopology: TopologySpec = mergeTopologies(storeTopology, rpcQueueSpec(STORE_RPC_QUEUE), deadLetterTopology);
