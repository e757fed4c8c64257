import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

/**
 * The checkout whose system is benchmarked: this repository (bench/ lives directly under
 * it), or BENCH_SYSTEM_ROOT to measure another checkout (e.g. a clean `git archive` of a
 * commit while the working tree is mid-edit) with this bench.
 */
export const ROOT = process.env.BENCH_SYSTEM_ROOT ? resolve(process.env.BENCH_SYSTEM_ROOT) : resolve(__dirname, "..", "..");

function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/.exec(line);
    if (!m || line.trimStart().startsWith("#")) continue;
    let v = m[2] ?? "";
    if ((v.startsWith("'") && v.endsWith("'")) || (v.startsWith('"') && v.endsWith('"'))) v = v.slice(1, -1);
    out[m[1]!] = v;
  }
  return out;
}

/**
 * The environment the services see under `npm start`: the process environment, then
 * the root .env, then .pragma/dev.env (same precedence as scripts/start.mjs). The bench
 * needs PRAGMA_SERVER_KEY from it, and extra worker replicas get exactly this env.
 */
export function systemEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const file of [join(ROOT, ".env"), join(ROOT, ".pragma", "dev.env")]) {
    if (!existsSync(file)) continue;
    for (const [k, v] of Object.entries(parseEnvFile(readFileSync(file, "utf8")))) if (!env[k]) env[k] = v;
  }
  env.NODE_ENV ||= "development";
  return env;
}

export const GATEWAY_URL = `http://127.0.0.1:${process.env.GATEWAY_PORT || 8080}`;
export const DATABASE_URL = process.env.DATABASE_URL || "postgresql://postgres@127.0.0.1:5432/pragma";
export const AMQP_URL = process.env.AMQP_URL || "amqp://guest:guest@127.0.0.1:5672";
/** The store's schema, read only to take the store's own ready timestamps (see README). */
export const STORE_SCHEMA = process.env.STORE_DATABASE_SCHEMA || "resource_store";

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));
