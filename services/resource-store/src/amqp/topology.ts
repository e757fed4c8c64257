import { EXCHANGES, EXCHANGE_TYPES, QUEUES, QUORUM_DLX_ARGS, RPC_QUEUES } from "@pragma/contracts";
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
  queues: [{ name: QUEUES.results, arguments: { ...QUORUM_DLX_ARGS } }],
  bindings: [{ source: EXCHANGES.results, destination: QUEUES.results, routingKey: "provider.event.#" }],
};

export const STORE_RPC_QUEUE = RPC_QUEUES.resourceStore;

/** Everything a resource-store replica declares: the above, its request queue, and the dead-letter queue it drains. */
export const storeBrokerTopology: TopologySpec = mergeTopologies(storeTopology, rpcQueueSpec(STORE_RPC_QUEUE), deadLetterTopology);
