#!/usr/bin/env node
// Writes infra/rabbitmq/definitions.json (RabbitMQ definitions: exchanges, queues,
// bindings, policies) from the topology declared in code, so the broker can be
// provisioned before any service starts (rabbitmq.conf `load_definitions`).
//
//   node scripts/export-topology.mjs [--check]   --check: fail if the file is out of date
//
// Needs the built @pragma/messaging (node scripts/build.mjs) exporting
// `toDefinitions(spec, vhost)` (it does) and the whole system's merged TopologySpec
// as `systemTopology` (it does not yet). Until then this says so and exits 3.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const dist = join(root, "packages", "messaging", "dist", "index.js");
const out = join(root, "infra", "rabbitmq", "definitions.json");
const check = process.argv.includes("--check");

if (!existsSync(dist)) {
  process.stderr.write(`export-topology: ${dist} not built yet (run node scripts/build.mjs)\n`);
  process.exit(1);
}
// A separate node keeps whatever the module does at load time out of this process.
const r = spawnSync(
  process.execPath,
  ["-e", `const m = require(${JSON.stringify(dist)});
     if (typeof m.toDefinitions !== "function" || !m.systemTopology) { console.error("export-topology: @pragma/messaging must export toDefinitions(spec, vhost) and systemTopology (the merged TopologySpec of every service); not there yet"); process.exit(3); }
     process.stdout.write(JSON.stringify(m.toDefinitions(m.systemTopology, process.env.AMQP_VHOST || "/"), null, 2) + "\\n");`],
  { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] },
);
if (r.status !== 0) process.exit(r.status ?? 1);
if (check) {
  const same = existsSync(out) && readFileSync(out, "utf8") === r.stdout;
  process.stderr.write(same ? "export-topology: definitions.json is up to date\n" : "export-topology: infra/rabbitmq/definitions.json is out of date: run node scripts/export-topology.mjs\n");
  process.exit(same ? 0 : 1);
}
writeFileSync(out, r.stdout);
process.stderr.write(`export-topology: wrote ${out}\n`);
