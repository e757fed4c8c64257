// The worker's RPC contracts live in packages/contracts/src/worker-rpc.ts. Until the
// contracts index re-exports that file, it is reached through the built output; this
// is the one line to change when it does.
export { workerRequests, type InspectedResource, type TypeDefinition } from "@pragma/contracts";
