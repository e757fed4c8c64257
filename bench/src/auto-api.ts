// `pnpm --filter @pragma/bench auto-api [-- options]`: the Auto API (api.md §7) against
// Platformatic DB on the same table, same load generator, same run. See README.md.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import autocannon from "autocannon";
import pg from "pg";
import { startBenchServer } from "./child";
import { DATABASE_URL, GATEWAY_URL, sleep } from "./env";
import { call, mustCall } from "./http";
import { machineFacts } from "./machine";
import { markdown, verdict, type Row } from "./report";
import { createTenant, startSystem, stopAll, stopChild, waitHealthy } from "./system";

const { values } = parseArgs({
  args: process.argv.slice(2).filter((a) => a !== "--"),
  options: {
    start: { type: "boolean", default: false },
    "no-build": { type: "boolean", default: false },
    seconds: { type: "string", default: "10" },
    /** Saturation pairs per measurement (order swapped each round); the ratio is the median of the rounds' ratios. */
    rounds: { type: "string", default: "3" },
    /** Log every request in both servers (their defaults: our gateway's access log, Platformatic's fastify request log); off: neither does. */
    "request-logs": { type: "boolean", default: false },
    connections: { type: "string", default: "32" },
    rate: { type: "string", default: "500" },
    "insert-rows": { type: "string", default: "50" },
    pool: { type: "string", default: "10" },
  },
});
const num = (k: keyof typeof values) => Number(values[k]);
const DB = "pragma_bench_autoapi";
const ROWS = 10_000;
const CATEGORIES = ROWS / 100; // 100 rows per category: each filtered read returns 100 rows
const say = (msg: string) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function dbUrl(name: string): string {
  const u = new URL(DATABASE_URL);
  u.pathname = `/${name}`;
  return u.toString();
}

/** The bench's own database (created once, its tables recreated each run): 10,000 rows to read, an empty table to insert into. */
async function prepareDatabase(): Promise<void> {
  const admin = new pg.Client({ connectionString: DATABASE_URL });
  await admin.connect();
  const exists = await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [DB]);
  if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DB}`);
  await admin.end();
  const c = new pg.Client({ connectionString: dbUrl(DB) });
  await c.connect();
  await c.query(`
    DROP TABLE IF EXISTS bench_items, bench_inserts;
    CREATE TABLE bench_items (id int PRIMARY KEY, category int NOT NULL, name text NOT NULL, price numeric(10,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    CREATE INDEX bench_items_category ON bench_items (category);
    CREATE TABLE bench_inserts (id bigserial PRIMARY KEY, category int NOT NULL, name text NOT NULL, price numeric(10,2) NOT NULL, created_at timestamptz NOT NULL DEFAULT now());
    INSERT INTO bench_items (id, category, name, price)
      SELECT i, i % ${CATEGORIES}, 'item ' || i, (i % 1000) / 10.0 FROM generate_series(1, ${ROWS}) AS i;
    ANALYZE bench_items;`);
  await c.end();
}

interface Target {
  name: string;
  url: string;
  read(category: number): { method: "GET"; path: string; headers: Record<string, string> };
  insert(rows: Record<string, unknown>[]): { method: "POST"; path: string; headers: Record<string, string>; body: string };
}

const insertRows = (n: number) => Array.from({ length: n }, (_, i) => ({ category: i % CATEGORIES, name: `new ${i}`, price: `${(i % 100) + 0.5}` }));

type Request = { method: string; path: string; headers: Record<string, string>; body?: string };

/** autocannon with each request built fresh (a random category per read). */
async function load(url: string, make: () => Request, opts: { seconds: number; connections: number; rate?: number }) {
  const r = await autocannon({
    url,
    connections: opts.connections,
    duration: opts.seconds,
    timeout: 10,
    ...(opts.rate ? { overallRate: opts.rate } : {}),
    requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, ...make() }) }],
  } as unknown as autocannon.Options);
  return { req_per_s: Math.round(r.requests.average), p50_ms: r.latency.p50, p99_ms: r.latency.p99, total: r.requests.total, non_2xx: r.non2xx, errors: r.errors, timeouts: r.timeouts };
}

async function main() {
  const started = new Date();
  let system;
  // The same logging on both sides: by default neither writes a line per request (our
  // services at warn, as Platformatic is below); --request-logs turns both on (info).
  const logLevel = values["request-logs"] ? "info" : "warn";
  if (values.start) process.env.LOG_LEVEL = logLevel;
  if (values.start) system = await startSystem({ build: !values["no-build"], logFile: join(__dirname, "..", "results", `${started.toISOString().replace(/[:.]/g, "-")}-system.log`), gatewayProcesses: 1 });
  else await waitHealthy(GATEWAY_URL, 5000, "/health").catch(() => {
    throw new Error(`no system at ${GATEWAY_URL}: run \`npm start\` in another terminal, or pass --start`);
  });
  const machine = await machineFacts();
  say(`preparing ${DB}: ${ROWS} rows in bench_items`);
  await prepareDatabase();
  const pool = num("pool");
  const u = new URL(DATABASE_URL);
  const tenant = await createTenant("auto-api", {
    database: { host: u.hostname, port: u.port || "5432", username: decodeURIComponent(u.username) || "postgres", db_name: DB, max_open_connections: pool, max_idle_connections: pool, connect_timeout_secs: 5 },
  });
  const platformatic = await startBenchServer("platformatic-server.ts", { PLATFORMATIC_DATABASE_URL: dbUrl(DB), PLATFORMATIC_POOL_SIZE: String(pool), PLATFORMATIC_LOG_LEVEL: logLevel });
  const base = `/auto/v1/postgres/${DB}`;
  const ours: Target = {
    name: "Auto API",
    url: GATEWAY_URL,
    read: (cat) => ({ method: "GET", path: `${base}/bench_items?category=eq.${cat}&limit=100`, headers: tenant.member }),
    insert: (rows) => ({ method: "POST", path: `${base}/bench_inserts`, headers: { ...tenant.operator, "content-type": "application/json" }, body: JSON.stringify(rows) }),
  };
  // Platformatic's REST POST takes one row; its bulk insert is the generated GraphQL mutation.
  const theirs: Target = {
    name: "Platformatic DB",
    url: `http://127.0.0.1:${platformatic.port}`,
    read: (cat) => ({ method: "GET", path: `/benchItems?where.category.eq=${cat}&limit=100`, headers: {} }),
    insert: (rows) => ({
      method: "POST",
      path: "/graphql",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ query: "mutation($inputs: [BenchInsertInput]!) { insertBenchInserts(inputs: $inputs) { id } }", variables: { inputs: rows } }),
    }),
  };
  const results: Record<string, Record<string, unknown>> = {};
  try {
    // Both answer the same question before anything is timed.
    for (const t of [ours, theirs]) {
      const r = t.read(7);
      const res = await mustCall(t.url, "GET", r.path, { headers: r.headers });
      if (!Array.isArray(res.body) || res.body.length !== 100) throw new Error(`${t.name}: expected 100 rows, got ${res.text.slice(0, 200)}`);
      const ins = t.insert(insertRows(2));
      const w = await call(t.url, "POST", ins.path, { headers: ins.headers, body: JSON.parse(ins.body) });
      if (w.status >= 300 || w.body?.errors) throw new Error(`${t.name}: insert failed ${w.status} ${w.text.slice(0, 300)}`);
    }
    const rows = insertRows(num("insert-rows"));
    const seconds = num("seconds");
    const connections = num("connections");
    const rate = num("rate");
    let n = 0;
    for (const t of [ours, theirs]) results[t.name] = {};
    // Alternating ours/theirs per measurement, so drift on this shared host hits both.
    for (const [label, make] of [
      ["read", (t: Target) => () => t.read(n++ % CATEGORIES)],
      ["insert", (t: Target) => () => t.insert(rows)],
    ] as const) {
      // Throughput on a shared host moves between runs by more than the difference measured
      // (one quiet-host run: Platformatic 663 req/s, the next 1,379), so each saturation is
      // measured in pairs, `rounds` times, the order swapped each round; the ratio is the
      // median of the pairs' ratios, the req/s shown the median round's.
      const rounds: Record<string, any>[] = [];
      for (let round = 0; round < num("rounds"); round++) {
        const pair: Record<string, any> = {};
        for (const t of round % 2 === 0 ? [ours, theirs] : [theirs, ours]) {
          say(`${t.name} ${label}: round ${round + 1}, warm-up, then ${seconds} s at ${connections} connections`);
          await load(t.url, make(t), { seconds: 2, connections });
          pair[t.name] = await load(t.url, make(t), { seconds, connections });
          await sleep(500);
        }
        rounds.push(pair);
      }
      const ratios = rounds.map((r) => r[ours.name].req_per_s / r[theirs.name].req_per_s);
      const median = [...ratios.keys()].sort((a, b) => ratios[a]! - ratios[b]!)[Math.floor(ratios.length / 2)]!;
      for (const t of [ours, theirs]) results[t.name]![`${label}_saturation`] = rounds[median]![t.name];
      results[ours.name]![`${label}_ratios`] = ratios.map((x) => Math.round(x * 100) / 100);
      for (const t of [ours, theirs]) {
        say(`${t.name} ${label}: ${seconds} s at ${rate} req/s`);
        results[t.name]![`${label}_fixed`] = await load(t.url, make(t), { seconds, connections: Math.max(connections, 64), rate });
        await sleep(500);
      }
    }
  } finally {
    await stopChild(platformatic.child);
    if (system) await stopChild(system);
    await stopAll();
  }

  const fmt = (v: any) => `${v.req_per_s} req/s (p50 ${v.p50_ms} ms, p99 ${v.p99_ms} ms${v.non_2xx ? `, non-2xx ${v.non_2xx}` : ""}${v.errors ? `, errors ${v.errors}` : ""})`;
  const o = results[ours.name] as any;
  const p = results[theirs.name] as any;
  const rowsOut: Row[] = [];
  for (const label of ["read", "insert"] as const) {
    const what = label === "read" ? "filtered GET, 100 rows" : `bulk insert, ${num("insert-rows")} rows a request`;
    rowsOut.push({ benchmark: `Auto API (${what})`, measure: `saturation, ${num("connections")} connections`, value: fmt(o[`${label}_saturation`]), verdict: "n/a" });
    rowsOut.push({ benchmark: `Platformatic DB (${what})`, measure: `saturation, ${num("connections")} connections`, value: fmt(p[`${label}_saturation`]), verdict: "n/a" });
    const ratio = o[`${label}_saturation`].req_per_s / p[`${label}_saturation`].req_per_s;
    rowsOut.push({ benchmark: `Auto API ÷ Platformatic (${label})`, measure: `throughput ratio, median of ${num("rounds")} pairs (${(o[`${label}_ratios`] as number[]).map((x) => `${x}×`).join(", ")})`, value: `${ratio.toFixed(2)}×`, ...(label === "read" ? { target: "≥ 1.0×", verdict: verdict(ratio >= 1) } : { verdict: "n/a" as const }) });
    rowsOut.push({ benchmark: `Auto API (${what})`, measure: `fixed ${num("rate")} req/s`, value: fmt(o[`${label}_fixed`]), verdict: "n/a" });
    rowsOut.push({ benchmark: `Platformatic DB (${what})`, measure: `fixed ${num("rate")} req/s`, value: fmt(p[`${label}_fixed`]), verdict: "n/a" });
  }
  const notes = [
    `Request logs ${values["request-logs"] ? "on in both (info)" : "off in both (log level warn)"}${values.start ? "" : " (our side: as the running system was started)"}. Same table, same PostgreSQL, same autocannon settings, alternating per measurement; saturation in ${num("rounds")} pairs, order swapped each round, the median pair shown. Pools: Auto API max_open_connections ${pool} (per worker), Platformatic poolSize ${pool}.`,
    "The Auto API path is gateway (JWT, per-org rate limit, scope) → RabbitMQ request/reply → provider worker → PostgreSQL; Platformatic DB is one process with no auth.",
    "Platformatic's REST POST inserts one row; its bulk insert is the generated GraphQL mutation insertBenchInserts(inputs), which the insert rows use.",
  ];
  const run = { started_at: started.toISOString(), machine, rows: rowsOut, notes };
  const md = markdown(run);
  const dir = join(__dirname, "..", "results");
  mkdirSync(dir, { recursive: true });
  const stamp = started.toISOString().replace(/[:.]/g, "-");
  writeFileSync(join(dir, `${stamp}-auto-api.md`), md);
  writeFileSync(join(dir, `${stamp}-auto-api.json`), JSON.stringify({ ...run, options: values, results }, null, 2));
  process.stdout.write(md + "\n");
}

main().catch(async (err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  await stopAll();
  process.exit(1);
});
