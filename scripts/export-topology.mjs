#!/usr/bin/env node
// Writes infra/rabbitmq/definitions.json (RabbitMQ definitions: exchanges, queues,
// bindings) from the topology the services declare in code, so a broker can be
// provisioned before any service starts (rabbitmq.conf `load_definitions`, or
// `rabbitmqctl import_definitions`). The code is the source of truth: each service
// declares exactly its exported *BrokerTopology / registryTopology on every connection,
// and this script merges the same values (mergeTopologies refuses one queue declared two
// ways by two services).
//
//   node scripts/export-topology.mjs [--check]   --check: exit 1 if the file differs from the code
//
// Reads the built services (node scripts/build.mjs first; npm test builds before it runs
// the check in test/infra/definitions.test.ts). The worker's part is what a worker with
// the defaults declares: every built-in provider, the default retry tiers. Not in the
// file, by design: each gateway and worker process's own notification queue (exclusive,
// auto-delete, named after the process) and RabbitMQ's reply-to pseudo-queue.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const out = join(root, "infra", "rabbitmq", "definitions.json");
const check = process.argv.includes("--check");
const require = createRequire(import.meta.url);

function load(rel) {
  const file = join(root, rel);
  if (!existsSync(file)) {
    process.stderr.write(`export-topology: ${rel} is not built (run npm run build)\n`);
    process.exit(1);
  }
  return require(file);
}

/** The whole system's topology, as the services declare it. */
export function systemDefinitions(vhost = "/") {
  const { mergeTopologies, toDefinitions } = load("packages/messaging/dist/index.js");
  const { workerBrokerTopology } = load("services/provider-worker/dist/amqp/topology.js");
  const { BUILT_IN_PROVIDERS, DEFAULT_RETRY_TIERS_MS } = load("services/provider-worker/dist/config.js");
  const { storeBrokerTopology } = load("services/resource-store/dist/amqp/topology.js");
  const { registryTopology } = load("services/registry/dist/amqp/topology.js");
  // The store's observation delay queues follow its OBSERVE_* config: these are the defaults'.
  const { DEFAULT_OBSERVE_INTERVAL_MS, DEFAULT_OBSERVE_TIERS_MS } = load("services/resource-store/dist/config.js");
  const { ObserveScheduler } = load("services/resource-store/dist/observe/observe-scheduler.js");
  const observe = new ObserveScheduler(null, { tiersMs: DEFAULT_OBSERVE_TIERS_MS, defaultIntervalMs: DEFAULT_OBSERVE_INTERVAL_MS }, null).topology();
  const spec = mergeTopologies(registryTopology, storeBrokerTopology, observe, workerBrokerTopology(BUILT_IN_PROVIDERS, DEFAULT_RETRY_TIERS_MS));
  return toDefinitions(spec, vhost);
}

const text = `${JSON.stringify(systemDefinitions(process.env.AMQP_VHOST || "/"), null, 2)}\n`;
if (check) {
  const same = existsSync(out) && readFileSync(out, "utf8") === text;
  process.stderr.write(
    same ? "export-topology: infra/rabbitmq/definitions.json matches the code\n" : "export-topology: infra/rabbitmq/definitions.json differs from the code: run node scripts/export-topology.mjs and commit it\n",
  );
  process.exit(same ? 0 : 1);
}
writeFileSync(out, text);
process.stderr.write(`export-topology: wrote ${out}\n`);
