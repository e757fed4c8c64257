/**
 * The one place tests compose services. A service's own tests reach only that service's
 * code; when they need another service running beside it (the gateway needs a registry,
 * the worker a registry to fetch credentials from), they start it through here, by its
 * config schema and start function, the same entry main.ts uses. Lint (eslint.config.mjs)
 * keeps services/x/test from importing services/y/src directly.
 */
export { readConfig as readRegistryConfig } from "../../services/registry/src/config";
export { startRegistry, type RegistryHandle } from "../../services/registry/src/service";
export { configSchema as storeConfigSchema, readConfig as readStoreConfig } from "../../services/resource-store/src/config";
export { startResourceStore, type RunningStore } from "../../services/resource-store/src/service";
export { readConfig as readWorkerConfig } from "../../services/provider-worker/src/config";
export { startWorker } from "../../services/provider-worker/src/service";
export { readConfig as readGatewayConfig } from "../../services/gateway/src/config";
export { startGateway } from "../../services/gateway/src/service";
