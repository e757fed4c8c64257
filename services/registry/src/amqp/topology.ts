import { EXCHANGES, EXCHANGE_TYPES, RPC_QUEUES } from "@pragma/contracts";
import { mergeTopologies, rpcQueueSpec, type TopologySpec } from "@pragma/messaging";

/** What the registry declares: its request queue and the exchange its events go to. */
export const registryTopology: TopologySpec = mergeTopologies(rpcQueueSpec(RPC_QUEUES.registry), {
  exchanges: [{ name: EXCHANGES.events, type: EXCHANGE_TYPES[EXCHANGES.events] }],
  queues: [],
  bindings: [],
});
