// `pnpm --filter @pragma/bench auto-api-cpu [-- --requests 5000 --connections 16 --rounds 3]`:
// CPU time per 1,000 filtered reads (100 rows each) in this checkout's own gateway and
// provider worker and in the PostgreSQL backends serving the bench's database, read from
// /proc by process id; then the same reads from Platformatic DB (its process tree and its
// backends). On a shared host throughput is noise; the CPU a request costs each process is
// what a change to the read path moves, and it can be set against Platformatic's. Needs a
// running system of this checkout (`npm start`; GATEWAY_PORT, DATABASE_URL as for it).
// Two more columns, `rabbitmq` (its one process serves every vhost on the host, so on a
// shared host it counts others' traffic too) and `autocannon` (this process: the load
// generator, the same for both), are comparable only on a quiet host.
import { readdirSync, readFileSync, readlinkSync } from "node:fs";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import pg from "pg";
import { DATABASE_URL, GATEWAY_URL, ROOT } from "./env";
import { startBenchServer } from "./child";
import { createTenant, stopChild } from "./system";
import { cpuPerItem, formatCpu, processTree, processesOf } from "./cpu-share";

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    requests: { type: "string", default: "5000" },
    connections: { type: "string", default: "16" },
    rounds: { type: "string", default: "3" },
    "no-platformatic": { type: "boolean", default: false },
  },
});
const DB = "pragma_bench_autoapi_cpu";
const CATEGORIES = 100;

function dbUrl(name: string): string {
  const u = new URL(DATABASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** This checkout's gateway and worker processes (by command line and working directory, so other checkouts' systems on the host are left out). */
function ours(): Map<string, string> {
  const out = new Map<string, string>();
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "latin1").replace(/\0/g, " ");
      const svc = /services\/(gateway|provider-worker)\/dist\/main\.js/.exec(cmd)?.[1];
      if (svc && readlinkSync(`/proc/${pid}/cwd`) === ROOT) out.set(pid, svc);
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

async function main() {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  if ((await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DB])).rowCount === 0) await admin.query(`CREATE DATABASE ${DB}`);
  await admin.end();
  const c = new pg.Client({ connectionString: dbUrl(DB) });
  await c.connect();
  await c.query(`
    DROP TABLE IF EXISTS bench_items;
    CREATE TABLE bench_items (id int PRIMARY KEY, category int NOT NULL, name text NOT NULL, price numeric(10,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    CREATE INDEX bench_items_category ON bench_items (category);
    INSERT INTO bench_items (id, category, name, price) SELECT i, i % ${CATEGORIES}, 'item ' || i, (i % 1000) / 10.0 FROM generate_series(1, ${CATEGORIES * 100}) AS i;
    ANALYZE bench_items;`);
  await c.end();
  const u = new URL(DATABASE_URL);
  const tenant = await createTenant("auto-api-cpu", { database: { host: u.hostname, port: u.port || "5432", username: decodeURIComponent(u.username) || "postgres", db_name: DB, max_open_connections: 10, max_idle_connections: 10 } });
  const procs = ours();
  if (procs.size === 0) throw new Error(`no gateway or worker of ${ROOT} running`);
  const platformatic = values["no-platformatic"] ? undefined : await startBenchServer("platformatic-server.ts", { PLATFORMATIC_DATABASE_URL: dbUrl(DB), PLATFORMATIC_POOL_SIZE: "10" });
  try {
    const targets: Target[] = [{ name: "Auto API", url: GATEWAY_URL, path: (cat) => `/auto/v1/postgres/${DB}/bench_items?category=eq.${cat}&limit=100`, headers: tenant.member, procs: () => procs, usesBroker: true }];
    if (platformatic) targets.push({ name: "Platformatic DB", url: `http://127.0.0.1:${platformatic.port}`, path: (cat) => `/benchItems?where.category.eq=${cat}&limit=100`, headers: {}, procs: () => processTree(String(platformatic.child.pid), "platformatic"), usesBroker: false });
    for (let round = 1; round <= Number(values.rounds); round++) for (const t of targets) await measure(t, round);
  } finally {
    if (platformatic) await stopChild(platformatic.child);
  }
}

interface Target {
  name: string;
  url: string;
  path(category: number): string;
  headers: Record<string, string>;
  procs(): Map<string, string>;
  /** Its requests cross RabbitMQ, whose CPU is then counted too. */
  usesBroker: boolean;
}

/** The PostgreSQL backends connected to the bench's database (the pools of whichever system is measured). */
async function backends(): Promise<Map<string, string>> {
  const c = new pg.Client({ connectionString: DATABASE_URL });
  await c.connect();
  const r = await c.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE datname = $1", [DB]);
  await c.end();
  return new Map(r.rows.map((x) => [String(x.pid), "postgres"]));
}

let n = 0;
async function measure(t: Target, round: number): Promise<void> {
  const run = (amount: number) =>
    autocannon({
      url: t.url,
      connections: Number(values.connections),
      amount,
      timeout: 10,
      requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, method: "GET", path: t.path(n++ % CATEGORIES), headers: t.headers }) }],
    } as unknown as autocannon.Options);
  await run(500);
  const requests = Number(values.requests);
  const pids = new Map([...t.procs(), ...(await backends()), ...(t.usesBroker ? processesOf("rabbitmq") : []), [String(process.pid), "autocannon"] as [string, string]]);
  const { result: r, secs, perItem } = await cpuPerItem(pids, requests, () => run(requests));
  process.stdout.write(`round ${round} ${t.name}: ${requests} reads in ${secs.toFixed(1)} s (${Math.round(requests / secs)} req/s, non-2xx ${r.non2xx}, errors ${r.errors}); CPU ms per 1,000 reads: ${formatCpu(perItem, true)}; load ${readFileSync("/proc/loadavg", "latin1").split(" ")[0]}\n`);
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
