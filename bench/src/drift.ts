// Entry point: `pnpm --filter @pragma/bench drift -- [--observed 10000 --interval-seconds 60 --window-seconds 120 --count 5000 --no-build]`.
// Starts and stops the system itself (twice: observation off, then on), see README.md "Drift".
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import amqp from "amqplib";
import pg from "pg";
import { AMQP_URL, DATABASE_URL, GATEWAY_URL, ROOT, sleep } from "./env";
import { call, mapLimit } from "./http";
import { cpuMsPerItem, cpuSnapshot, type CpuSnapshot } from "./cpu-share";
import { lifecycleSaturation, waitSettled } from "./lifecycle";
import { machineFacts } from "./machine";
import { round } from "./stats";
import { StoreObserver } from "./store-observer";
import { createTenant, startSystem, stopAll, type Tenant } from "./system";

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    observed: { type: "string", default: "10000" },
    "interval-seconds": { type: "string", default: "60" },
    "window-seconds": { type: "string", default: "120" },
    count: { type: "string", default: "5000" },
    connections: { type: "string", default: "32" },
    "timeout-seconds": { type: "string", default: "600" },
    "no-build": { type: "boolean", default: false },
  },
});
const say = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

const observed = Number(values.observed);
const intervalMs = Number(values["interval-seconds"]) * 1000;
const windowMs = Number(values["window-seconds"]) * 1000;
const count = Number(values.count);
const timeoutMs = Number(values["timeout-seconds"]) * 1000;
/** The observed resources are schemas in a database of their own, so the machine's databases are not touched. */
const OBSERVED_DB = "pragma_bench_drift";

/** Counts observation results on pragma.results with a queue of the bench's own (exclusive, gone when it disconnects). */
async function observationTap(): Promise<{ count(): number; close(): Promise<void> }> {
  const conn = await amqp.connect(AMQP_URL);
  const ch = await conn.createChannel();
  const { queue } = await ch.assertQueue("", { exclusive: true, autoDelete: true });
  await ch.bindQueue(queue, "pragma.results", "provider.observed.#");
  let n = 0;
  await ch.consume(queue, () => void n++, { noAck: true });
  return { count: () => n, close: async () => void (await conn.close()) };
}

async function ensureDatabase(): Promise<void> {
  const admin = new pg.Client({ connectionString: DATABASE_URL.replace(/\/[^/]*$/, "/postgres") });
  await admin.connect();
  if ((await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [OBSERVED_DB])).rowCount === 0) await admin.query(`CREATE DATABASE ${OBSERVED_DB}`);
  await admin.end();
}

async function dropDatabase(): Promise<void> {
  const admin = new pg.Client({ connectionString: DATABASE_URL.replace(/\/[^/]*$/, "/postgres") });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS ${OBSERVED_DB} WITH (FORCE)`);
  await admin.end();
}

/** `observed` ready postgres/schema resources (one SELECT each to observe), applied 16 at a time. */
async function applyObserved(tenant: Tenant, observer: StoreObserver, prefix: string): Promise<number> {
  const names = Array.from({ length: observed }, (_, i) => `${prefix}${String(i).padStart(6, "0")}`);
  await mapLimit(names, 16, async (name) => {
    const schema = name.replace(/-/g, "_");
    const r = await call(GATEWAY_URL, "POST", "/resources/apply", { headers: tenant.member, body: { provider: "postgres", resource: "schema", name, config: { name: schema }, lifecycle_state: "pending" } });
    if (r.status !== 200) throw new Error(`apply ${name} → ${r.status}: ${r.text.slice(0, 200)}`);
  });
  const { counts } = await waitSettled(observer, tenant, prefix, observed, timeoutMs);
  return counts.ready?.n ?? 0;
}

async function window(): Promise<{ cpu0: CpuSnapshot; cpu1: CpuSnapshot; observations: number; seconds: number }> {
  const tap = await observationTap();
  const cpu0 = cpuSnapshot();
  const t0 = Date.now();
  await sleep(windowMs);
  const cpu1 = cpuSnapshot();
  const seconds = (Date.now() - t0) / 1000;
  const observations = tap.count();
  await tap.close();
  return { cpu0, cpu1, observations, seconds };
}

async function phase(label: string, observe: boolean, build: boolean) {
  process.env.OBSERVE_ENABLED = String(observe);
  process.env.OBSERVE_INTERVAL_MS = String(intervalMs);
  say(`${label}: starting the system (OBSERVE_ENABLED=${observe}, OBSERVE_INTERVAL_MS=${intervalMs})`);
  await startSystem({ build, logFile: join(ROOT, "bench", "results", `${stamp}-drift-${label}-system.log`), gatewayProcesses: 1 });
  return new StoreObserver();
}

const stamp = new Date().toISOString().replace(/[:.]/g, "-");

async function main() {
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  const machine = await machineFacts();
  await ensureDatabase();
  const results: Record<string, unknown> = { started_at: new Date().toISOString(), machine, observed, interval_ms: intervalMs, window_ms: windowMs, count };
  try {
    // 1. Observation off: the observed population is applied (no cycle starts), an idle
    //    window gives the baseline CPU, then the lifecycle saturation run.
    let observer = await phase("off", false, !values["no-build"]);
    const tenant = await createTenant("drift", { database: { db_name: OBSERVED_DB } });
    const prefix = `obs-${Date.now().toString(36)}-`;
    say(`off: applying ${observed} postgres/schema resources`);
    const ready = await applyObserved(tenant, observer, prefix);
    say(`off: ${ready} ready; idle window ${windowMs / 1000} s`);
    const idle = await window();
    say(`off: lifecycle saturation, ${count} applies`);
    await observer.vacuum();
    const off = await lifecycleSaturation(tenant, observer, { count, connections: Number(values.connections), label: "drift-off", timeoutMs });
    await stopAll();

    // 2. Observation on: every observed resource starts its cycle (a refresh each, then the
    //    broker's schedule), a window of steady observation, then the same saturation run.
    observer = await phase("on", true, false);
    say(`on: starting ${observed} observation cycles (POST /refresh each)`);
    const names = Array.from({ length: observed }, (_, i) => `${prefix}${String(i).padStart(6, "0")}`);
    await mapLimit(names, 16, async (n) => void (await call(GATEWAY_URL, "POST", `/resources/${encodeURIComponent(`resource:postgres_schema_${n}`)}/refresh`, { headers: tenant.member })));
    // One interval for the refreshes' answers to settle into the jittered schedule.
    await sleep(Math.min(intervalMs, 60_000));
    say(`on: steady window ${windowMs / 1000} s`);
    const busy = await window();
    say(`on: lifecycle saturation, ${count} applies`);
    await observer.vacuum();
    const on = await lifecycleSaturation(tenant, observer, { count, connections: Number(values.connections), label: "drift-on", timeoutMs });

    // CPU per observation: the on window minus the idle window's CPU for the same time.
    const idleMs = cpuMsPerItem(idle.cpu0, idle.cpu1, 1);
    const busyMs = cpuMsPerItem(busy.cpu0, busy.cpu1, 1);
    const perObservation: Record<string, number> = {};
    if (idleMs && busyMs && busy.observations > 0) {
      for (const [group, ms] of Object.entries(busyMs)) perObservation[group] = round(Math.max(0, ms - ((idleMs[group] ?? 0) * busy.seconds) / idle.seconds) / busy.observations, 3);
    }
    Object.assign(results, {
      observed_ready: ready,
      observations: busy.observations,
      observations_per_s: round(busy.observations / busy.seconds, 1),
      expected_per_s: round(observed / (intervalMs / 1000), 1),
      cpu_ms_per_observation: perObservation,
      lifecycle_off: off,
      lifecycle_on: on,
      lifecycle_on_vs_off: round((on.resources_per_s as number) / (off.resources_per_s as number), 3),
    });
  } finally {
    await stopAll();
    await dropDatabase().catch((err: unknown) => say(`could not drop ${OBSERVED_DB}: ${String(err)}`));
  }
  const md = [
    `# Drift bench ${results.started_at}`,
    "",
    `${observed} ready postgres/schema resources observed every ${intervalMs / 1000} s (jittered), window ${windowMs / 1000} s; lifecycle saturation ${count} applies.`,
    "",
    "| measure | value |",
    "|---|---|",
    `| observations/s (expected ${results.expected_per_s}) | ${results.observations_per_s} |`,
    `| CPU ms per observation by process | ${JSON.stringify(results.cpu_ms_per_observation)} |`,
    `| lifecycle resources/s, observation off | ${(results.lifecycle_off as { resources_per_s: number }).resources_per_s} |`,
    `| lifecycle resources/s, observation on | ${(results.lifecycle_on as { resources_per_s: number }).resources_per_s} |`,
    `| on / off | ${results.lifecycle_on_vs_off} |`,
    "",
  ].join("\n");
  writeFileSync(join(ROOT, "bench", "results", `${stamp}-drift.json`), JSON.stringify(results, null, 2));
  writeFileSync(join(ROOT, "bench", "results", `${stamp}-drift.md`), md);
  process.stdout.write(`\n${md}\nWritten: bench/results/${stamp}-drift.{md,json}\n`);
}

main().catch(async (err: unknown) => {
  say(`failed: ${err instanceof Error ? err.stack : String(err)}`);
  await stopAll();
  process.exit(1);
});
