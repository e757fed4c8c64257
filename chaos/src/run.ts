// One fault-injection scenario: `pnpm --filter @pragma/chaos <scenario> [-- options]` (README.md).
//
// Starts the system (scripts/start.mjs) on its own port, database, vhost and Redis prefix,
// with the faulted component a private instance; applies a mixed load; injects the fault
// when a share of the applies is answered; waits for quiescence; counts from the store's
// table, a tap queue on the work exchange and pg_authid; prints the table.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { deadLetters, dropRunObjects, declareTap, drainTap, rolesOnServer, storeStates } from "./count";
import { databaseOn, deleteRedisKeys, freePort, privatePostgres, privateRabbit, privateRedis, rabbitCluster, sharedDatabase, sharedVhost, type Infra } from "./infra";
import { applyAll, mixedLoad, type LoadResult } from "./load";
import { createTenant, startSystem, type System, type Tenant } from "./system";
import { call, say, sleep } from "./util";
import { formatTable, type Row } from "./report";

const SCENARIOS = ["worker-kill", "store-kill", "broker-restart", "postgres-restart", "redis-restart", "rabbit-node-lost"] as const;
type Scenario = (typeof SCENARIOS)[number];

const { values, positionals } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  allowPositionals: true,
  options: {
    count: { type: "string", default: "200" },
    connections: { type: "string", default: "16" },
    // Inject the fault once this share of the applies is answered.
    "fault-at": { type: "string", default: "0.4" },
    kills: { type: "string", default: "5" },
    workers: { type: "string", default: "1" },
    "settle-seconds": { type: "string", default: "180" },
    "max-attempts": { type: "string", default: "20" },
    // The machine's servers for what the scenario does not fault (never restarted).
    "postgres-url": { type: "string", default: process.env.DATABASE_SERVER_URL || "postgresql://postgres@127.0.0.1:5432/postgres" },
    "amqp-url": { type: "string", default: "amqp://guest:guest@127.0.0.1:5672" },
    "redis-url": { type: "string", default: "redis://127.0.0.1:6379" },
    keep: { type: "boolean", default: false },
  },
});

const RESULTS = join(__dirname, "..", "results");

interface Run {
  scenario: Scenario;
  stamp: string;
  pgServer: Infra & { port?: number };
  db: Infra;
  amqp: Infra;
  redis: Infra;
  extra: Infra[];
  cluster?: Awaited<ReturnType<typeof rabbitCluster>>;
}

async function setUp(scenario: Scenario, stamp: string): Promise<Run> {
  const extra: Infra[] = [];
  try {
    return await setUpInto(extra, scenario, stamp);
  } catch (err) {
    for (const i of extra.reverse()) await i.dispose().catch(() => undefined);
    throw err;
  }
}

async function setUpInto(extra: Infra[], scenario: Scenario, stamp: string): Promise<Run> {
  const id = stamp.toLowerCase().replace(/[^a-z0-9]/g, "");
  let pgServer: Run["pgServer"];
  let db: Infra;
  if (scenario === "postgres-restart") {
    const priv = await privatePostgres();
    extra.push(priv);
    db = await databaseOn(priv);
    pgServer = priv;
  } else {
    db = await sharedDatabase(values["postgres-url"]!, `chaos_${id}`);
    extra.push(db);
    pgServer = { url: values["postgres-url"]!, port: Number(new URL(values["postgres-url"]!).port || 5432), dispose: async () => undefined };
  }
  let amqpInfra: Infra;
  let cluster: Run["cluster"];
  if (scenario === "broker-restart") amqpInfra = await privateRabbit();
  else if (scenario === "rabbit-node-lost") amqpInfra = cluster = await rabbitCluster();
  else amqpInfra = await sharedVhost(values["amqp-url"]!, `chaos-${id}`);
  extra.push(amqpInfra);
  const redis = scenario === "redis-restart" ? await privateRedis() : { url: values["redis-url"]!, dispose: async () => undefined };
  extra.push(redis);
  return { scenario, stamp, pgServer, db, amqp: amqpInfra, redis, extra, cluster };
}

/**
 * Kills the newest process of `service` and waits for the runner to start another (up to
 * 45 s: its backoff doubles to 30 s), so the next kill hits a live process, not the dead one.
 */
async function killAndWait(sys: System, service: string): Promise<void> {
  const before = sys.pids(service);
  const pid = before.at(-1);
  if (!pid) throw new Error(`no ${service} pid in the runner's log`);
  say(`kill -9 ${service} (pid ${pid})`);
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    /* already gone */
  }
  for (let i = 0; i < 450 && sys.pids(service).length === before.length && sys.exitCode() === null; i++) await sleep(100);
}

async function inject(run: Run, sys: System): Promise<string> {
  switch (run.scenario) {
    case "worker-kill": {
      const n = Number(values.kills);
      // With WORKER_REPLICAS > 1 the runner names them provider-worker-1, -2, ...: the first is killed.
      const worker = Number(values.workers) > 1 ? "provider-worker-1" : "provider-worker";
      for (let k = 0; k < n && sys.exitCode() === null; k++) {
        await killAndWait(sys, worker);
        await sleep(1000);
      }
      return `provider-worker kill -9 x${n}`;
    }
    case "store-kill":
      await killAndWait(sys, "resource-store");
      return "resource-store kill -9";
    case "broker-restart":
    case "postgres-restart":
    case "redis-restart": {
      const target = run.scenario === "broker-restart" ? run.amqp : run.scenario === "postgres-restart" ? run.pgServer : run.redis;
      say(`restarting the private ${run.scenario.split("-")[0]}`);
      const t0 = Date.now();
      await target.restart!();
      return `${run.scenario} (took ${((Date.now() - t0) / 1000).toFixed(1)} s)`;
    }
    case "rabbit-node-lost": {
      const node = await run.cluster!.loseLeaderOf("work.pragma");
      return `stopped ${node} (leader of work.pragma)`;
    }
  }
}

/** Waits until no resource of the run is pending or processing (or the settle time is over). */
async function quiesce(run: Run, tenant: Tenant, prefix: string, accepted: number): Promise<void> {
  const deadline = Date.now() + Number(values["settle-seconds"]) * 1000;
  for (;;) {
    const { states } = await storeStates(run.db.url, tenant, prefix).catch(() => ({ states: new Map<string, string>() }));
    const open = [...states.values()].filter((s) => s !== "ready" && s !== "failed").length;
    if (states.size >= accepted && open === 0) return;
    if (Date.now() > deadline) {
      say(`not quiescent after ${values["settle-seconds"]} s: ${open} open, ${states.size}/${accepted} in the store`);
      return;
    }
    await sleep(2000);
  }
}

/** After the fault: the gateway ready, and a fresh apply becomes ready within 60 s. */
async function recovered(sys: System, tenant: Tenant, run: Run, prefix: string): Promise<boolean> {
  if (sys.exitCode() !== null) return false;
  const name = `${prefix}probe`;
  const applied = await call(sys.baseUrl, "POST", "/resources/apply", { headers: tenant.headers, body: { provider: "pragma", resource: "config", name, config: { probe: true }, lifecycle_state: "pending" } });
  if (applied.status >= 300) return false;
  for (let i = 0; i < 60; i++) {
    const { states } = await storeStates(run.db.url, tenant, name).catch(() => ({ states: new Map<string, string>() }));
    if (states.get(name) === "ready") return (await call(sys.baseUrl, "GET", "/health/ready")).status === 200;
    await sleep(1000);
  }
  return false;
}

async function scenario(name: Scenario): Promise<Row> {
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  mkdirSync(RESULTS, { recursive: true });
  const run = await setUp(name, stamp);
  let sys: System | undefined;
  const prefix = `ch-${Date.now().toString(36)}-`;
  const redisPrefix = `chaos:${stamp}:`;
  let cleaning: Promise<void> | undefined;
  cleanUp = () =>
    (cleaning ??= (async () => {
      say("stopping the system");
      await sys?.stop();
      await dropRunObjects(run.pgServer.url.replace(/\/[^/]*$/, "/postgres"), prefix).catch((e: Error) => say(`cleanup of roles/databases: ${e.message}`));
      if (values.keep) return;
      deleteRedisKeys(run.redis.url, redisPrefix);
      for (const i of run.extra.reverse()) await i.dispose().catch((e: Error) => say(`cleanup: ${e.message}`));
    })());
  try {
    sys = await startSystem({
      port: await freePort(),
      databaseUrl: run.db.url,
      amqpUrl: run.amqp.url,
      redisUrl: run.redis.url,
      redisPrefix,
      logFile: join(RESULTS, `${stamp}-${name}-system.log`),
      devEnvFile: join(RESULTS, `${stamp}-dev.env`),
      workers: Number(values.workers),
    });
    const tenant = await createTenant(sys, { host: "127.0.0.1", port: run.pgServer.port ?? 5432 });
    const tapQueue = `chaos.tap.${stamp}`;
    await declareTap(run.amqp.url, tapQueue, ["pragma", "postgres"]);
    const items = mixedLoad(prefix, Number(values.count));
    const faultAt = Math.max(1, Math.floor(items.length * Number(values["fault-at"])));
    let fault: Promise<string> | undefined;
    say(`${items.length} applies over ${values.connections} connections; the fault after ${faultAt}`);
    const load: LoadResult = await applyAll(sys.baseUrl, tenant, items, {
      connections: Number(values.connections),
      maxAttempts: Number(values["max-attempts"]),
      onAnswered: (n) => {
        if (n === faultAt) fault = inject(run, sys!);
      },
    });
    const what = fault ? await fault : "none (load ended first)";
    say(`load done: ${load.accepted.size} accepted, ${load.rejected.size} given up; waiting for quiescence`);
    await quiesce(run, tenant, prefix, load.accepted.size);
    const selfRecovered = await recovered(sys, tenant, run, prefix);
    const { states, last_error } = await storeStates(run.db.url, tenant, prefix);
    states.delete(`${prefix}probe`);
    const tap = await drainTap(run.amqp.url, tapQueue);
    const dead = await deadLetters(run.db.url, tenant, prefix);
    const roles = await rolesOnServer(run.pgServer.url.replace(/\/[^/]*$/, "/postgres"), prefix);
    const accepted = [...load.accepted];
    const by = (s: string) => accepted.filter((n) => states.get(n) === s).length;
    const roleItems = items.filter((i) => i.resource === "role" && states.get(i.name) === "ready");
    const row: Row = {
      scenario: name,
      fault: what,
      accepted: accepted.length,
      ready: by("ready"),
      failed: by("failed"),
      stuck: accepted.filter((n) => states.has(n) && !["ready", "failed"].includes(states.get(n)!)).length,
      lost: accepted.filter((n) => !states.has(n) || !tap.eventsPerName.has(n)).length,
      duplicate_hook_runs: [...tap.eventsPerName.values()].filter((ids) => ids.size > 1).length,
      dead_lettered: dead.n,
      dead_letter_reasons: dead.reasons,
      status_5xx: Object.fromEntries([...load.statuses].filter(([s]) => s === "0" || s.startsWith("5"))),
      recovered: selfRecovered,
      roles_missing: roleItems.filter((i) => !roles.has(String(i.config.name))).length,
      restarted: sys.restarts().reduce<Record<string, number>>((acc, k) => ({ ...acc, [k]: (acc[k] ?? 0) + 1 }), {}),
      given_up_applies: load.rejected.size,
      failures: [...new Set(last_error.values())].slice(0, 5),
      tap_messages: tap.messages,
    };
    writeFileSync(join(RESULTS, `${stamp}-${name}.json`), JSON.stringify({ ...row, rejected: Object.fromEntries(load.rejected), statuses: Object.fromEntries(load.statuses), no_answer: Object.fromEntries(load.noAnswer), errors_5xx: Object.fromEntries(load.errors5xx) }, null, 2));
    return row;
  } finally {
    await cleanUp();
  }
}

/** What a run leaves behind, undone at its end, or on Ctrl-C / SIGTERM (once). */
let cleanUp: () => Promise<void> = async () => undefined;

for (const sig of ["SIGINT", "SIGTERM"] as const) {
  process.on(sig, () => {
    say(`${sig}: cleaning up`);
    void cleanUp().finally(() => process.exit(130));
  });
}

async function main() {
  const asked = positionals[0];
  const list: Scenario[] = asked === "all" ? SCENARIOS.filter((s) => s !== "rabbit-node-lost") : SCENARIOS.includes(asked as Scenario) ? [asked as Scenario] : [];
  if (list.length === 0) throw new Error(`usage: run.ts <${SCENARIOS.join("|")}|all> [--count N ...]`);
  const rows: Row[] = [];
  for (const s of list) rows.push(await scenario(s));
  process.stdout.write(`${formatTable(rows)}\n`);
  if (rows.some((r) => r.lost > 0 || r.stuck > 0 || !r.recovered)) process.exitCode = 1;
}

main().catch((err) => {
  say(`failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  process.exitCode = 1;
});
