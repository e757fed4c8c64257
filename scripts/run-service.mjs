#!/usr/bin/env node
// Container entry point: node scripts/run-service.mjs <gateway|registry|resource-store|provider-worker>
//
// Runs services/<name>/dist/main.js in this same process (so SIGTERM reaches the
// service directly, with no wrapper in between). If PRAGMA_DEV_ENV_FILE is set, the
// development secrets in that file (generated there on first use, atomically, so
// containers sharing a volume agree) fill whatever the environment lacks: docker
// compose cannot carry a JSON default such as JWT_KEYS in `${VAR:-...}`. Leave
// PRAGMA_DEV_ENV_FILE unset in production and pass real secrets.
import Module from "node:module";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { applyDevSecrets } from "./lib/dev-secrets.mjs";

const SERVICES = ["gateway", "registry", "resource-store", "provider-worker"];
const name = process.argv[2];
if (!SERVICES.includes(name)) {
  process.stderr.write(`usage: node scripts/run-service.mjs <${SERVICES.join("|")}>\n`);
  process.exit(2);
}
const root = join(fileURLToPath(new URL(".", import.meta.url)), "..");
const main = join(root, "services", name, "dist", "main.js");
if (!existsSync(main)) {
  process.stderr.write(`${main} does not exist: build first (node scripts/build.mjs)\n`);
  process.exit(1);
}

const file = process.env.PRAGMA_DEV_ENV_FILE;
if (file) {
  const { fromFile, created } = applyDevSecrets(process.env, file);
  if (fromFile.length) process.stderr.write(`[pragma] development secrets from ${file}${created ? " (generated now)" : ""}: ${fromFile.join(", ")}\n`);
  if (name === "gateway" && fromFile.includes("PRAGMA_SERVER_KEY")) process.stderr.write(`[pragma] System API key (PRAGMA_SERVER_KEY): ${process.env.PRAGMA_SERVER_KEY}\n`);
}
process.argv.splice(1, 2, main); // the service sees argv as if run directly
// runMain, not require: the service must see require.main === module, as when run directly.
Module.runMain(main);
