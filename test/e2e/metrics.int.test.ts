import { readFileSync } from "node:fs";
import { join } from "node:path";
// pg is a dependency of the services, not of the workspace root.
import { Client as PgClient } from "../../services/resource-store/node_modules/pg";
import { newUlid } from "@pragma/ids";
import { testInfraUrls, waitFor } from "@pragma/testing";
import { call, SERVER_KEY, startSystem, type RunningSystem } from "./system";
import { Client, createOrg, rid } from "./tenant";

/**
 * Every service's GET /metrics (METRICS_PORT=0: a free port each), scraped as Prometheus
 * would: the named metrics exist, move when the system works, carry only bounded labels,
 * and cover every metric the Grafana dashboard queries. /health/ready names PostgreSQL and
 * reports it down when the services' database refuses connections.
 */

type Service = "gateway" | "registry" | "resource-store" | "provider-worker";
const SERVICES: Service[] = ["gateway", "registry", "resource-store", "provider-worker"];

interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Prometheus text format: `name{a="b",c="d"} value` per sample line. */
function parse(text: string): Series[] {
  const out: Series[] = [];
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

/** Sum of the samples of `name` whose labels include `labels`. */
function total(series: Series[], name: string, labels: Record<string, string> = {}): number {
  return series.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}

describe("Prometheus metrics and readiness", () => {
  let sys: RunningSystem;
  let client: Client;
  let orgId: string;

  async function scrape(service: Service): Promise<{ text: string; series: Series[] }> {
    const port = sys.metricsPorts[service];
    if (port === undefined) throw new Error(`${service} serves no metrics`);
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    return { text, series: parse(text) };
  }
  const scrapeAll = async () => Object.fromEntries(await Promise.all(SERVICES.map(async (s) => [s, await scrape(s)] as const))) as Record<Service, { text: string; series: Series[] }>;

  beforeAll(async () => {
    sys = await startSystem("metrics", { METRICS_PORT: "0", RETRY_TIERS_MS: "200", MAX_RETRIES: "0" });
    const org = await createOrg(sys.baseUrl);
    orgId = org.orgId;
    client = org.client();
  }, 60_000);

  afterAll(async () => {
    await sys?.stop();
  });

  it("each service serves its own /metrics on its own port, with process metrics labelled by service", async () => {
    const ports = SERVICES.map((s) => sys.metricsPorts[s]);
    expect(new Set(ports).size).toBe(4);
    for (const s of SERVICES) {
      const { series } = await scrape(s);
      const cpu = series.filter((x) => x.name === "pragma_process_cpu_seconds_total");
      expect(cpu.map((x) => x.labels.service)).toEqual([s]);
      expect(total(series, "pragma_broker_connected")).toBe(1);
    }
    const port = sys.metricsPorts.gateway!;
    expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
    // Never on the public listener.
    expect((await call(sys.baseUrl, "GET", "/metrics")).status).toBe(404);
  });

  it("one apply to ready moves the HTTP, RPC, transition, outbox, result and worker metrics", async () => {
    const before = await scrapeAll();
    const ref = { provider: "pragma", resource: "config", name: `m-${newUlid().slice(-6).toLowerCase()}` };
    const applied = await client.apply({ ...ref, config: { region: "eu" }, lifecycle_state: "pending" });
    expect(applied.status).toBe(200);
    await client.waitFor(rid(ref), "ready");
    // Counters move after the commit that made the resource ready; give the scrape a moment.
    const after = await waitFor(
      async () => {
        const a = await scrapeAll();
        return total(a["provider-worker"].series, "pragma_worker_event_duration_seconds_count", { provider: "pragma", type: "config", outcome: "succeeded" }) >
          total(before["provider-worker"].series, "pragma_worker_event_duration_seconds_count", { provider: "pragma", type: "config", outcome: "succeeded" }) &&
          total(a["resource-store"].series, "pragma_lifecycle_transitions_total", { to: "ready" }) > total(before["resource-store"].series, "pragma_lifecycle_transitions_total", { to: "ready" })
          ? a
          : undefined;
      },
      { timeoutMs: 10_000, message: "worker event and ready transition counted" },
    );
    const delta = (s: Service, name: string, labels: Record<string, string> = {}) => total(after[s].series, name, labels) - total(before[s].series, name, labels);

    // Gateway: by route template, never the raw path (the resource id must not be a label value).
    expect(delta("gateway", "pragma_http_request_duration_seconds_count", { method: "POST", route: "/resources/apply", status: "200" })).toBe(1);
    expect(delta("gateway", "pragma_http_request_duration_seconds_count", { method: "GET", route: "/resources/{resource_id}", status: "200" })).toBeGreaterThanOrEqual(1);
    expect(after.gateway.text).not.toContain(rid(ref));
    expect(after.gateway.text).not.toContain(orgId);
    expect(delta("gateway", "pragma_rpc_client_duration_seconds_count", { type: "resources.resource.apply.v1", outcome: "ok" })).toBe(1);

    // The store answered the apply and counted the lifecycle: created pending, then ready.
    expect(delta("resource-store", "pragma_rpc_server_duration_seconds_count", { type: "resources.resource.apply.v1", outcome: "ok" })).toBe(1);
    expect(delta("resource-store", "pragma_lifecycle_transitions_total", { from: "none", to: "pending" })).toBe(1);
    expect(delta("resource-store", "pragma_lifecycle_transitions_total", { to: "ready" })).toBe(1);
    expect(delta("resource-store", "pragma_outbox_published_total")).toBeGreaterThanOrEqual(1);
    expect(delta("resource-store", "pragma_results_ingested_total", { kind: "succeeded", outcome: "applied" })).toBe(1);
    expect(total(after["resource-store"].series, "pragma_outbox_backlog")).toBe(0);
    expect(total(after["resource-store"].series, "pragma_outbox_lag_seconds")).toBe(0);
    expect(total(after["resource-store"].series, "pragma_db_pool_connections", { pool: "resource-store", state: "max" })).toBe(10);
    expect(total(after["resource-store"].series, "pragma_db_pool_connections", { pool: "resource-store", state: "total" })).toBeGreaterThan(0);
    expect(after["resource-store"].series.some((s) => s.name === "pragma_queue_messages" && s.labels.queue === "resource-store.results")).toBe(true);

    // The worker: the event, the queue it came from, and its RPC to the registry's API key check via the gateway.
    expect(delta("provider-worker", "pragma_worker_event_duration_seconds_count", { provider: "pragma", type: "config", outcome: "succeeded" })).toBe(1);
    expect(total(after["provider-worker"].series, "pragma_queue_consumers", { queue: "work.pragma" })).toBeGreaterThanOrEqual(1);
    expect(total(after.registry.series, "pragma_db_pool_connections", { pool: "registry", state: "total" })).toBeGreaterThan(0);
    expect(after.registry.series.some((s) => s.name === "pragma_rpc_server_duration_seconds_count" && s.labels.type?.startsWith("registry."))).toBe(true);
  });

  it("a permanent failure counts a failed worker event, a dead letter stored and a transition to failed", async () => {
    const project = await call(sys.baseUrl, "POST", `/orgs/${orgId}/projects`, {
      headers: { "x-server-key": SERVER_KEY },
      body: {
        name: "broken",
        abbreviation: "broken",
        database: [
          { host: "127.0.0.1", port: "5432", username: "no_such_role", password: "x", db_name: "postgres", db_type: "postgres", connect_timeout_secs: 5, idle_timeout_secs: 30, max_open_connections: 2, max_idle_connections: 1 },
        ],
      },
    });
    expect(project.status).toBe(201);
    const broken = new Client(sys.baseUrl, client.token, project.headers.get("x-project-id")!, project.headers.get("x-space-id")!);
    const before = await scrapeAll();
    const ref = { provider: "postgres", resource: "database", name: `m${newUlid().slice(-6).toLowerCase()}` };
    expect((await broken.apply({ ...ref, config: { name: ref.name }, lifecycle_state: "pending" })).status).toBe(200);
    await broken.waitFor(rid(ref), "failed", 30_000);
    const after = await waitFor(
      async () => {
        const a = await scrapeAll();
        return total(a["resource-store"].series, "pragma_dead_letters_ingested_total", { outcome: "stored" }) > total(before["resource-store"].series, "pragma_dead_letters_ingested_total", { outcome: "stored" }) ? a : undefined;
      },
      { timeoutMs: 20_000, message: "dead letter counted" },
    );
    const delta = (s: Service, name: string, labels: Record<string, string> = {}) => total(after[s].series, name, labels) - total(before[s].series, name, labels);
    expect(delta("provider-worker", "pragma_worker_event_duration_seconds_count", { provider: "postgres", type: "database", outcome: "failed" })).toBe(1);
    expect(delta("resource-store", "pragma_lifecycle_transitions_total", { to: "failed" })).toBe(1);
    expect(delta("resource-store", "pragma_results_ingested_total", { kind: "failed" })).toBe(1);
    // The worker opened a pool to the project's database (and failed to log in).
    expect(total(after["provider-worker"].series, "pragma_worker_db_pools", { db_type: "postgres" })).toBeGreaterThanOrEqual(1);
  }, 60_000);

  it("every metric the Grafana dashboard queries is served by some service", async () => {
    const dashboard = readFileSync(join(__dirname, "../../infra/grafana/pragma-dashboard.json"), "utf8");
    const exprs = [...dashboard.matchAll(/"expr": "((?:[^"\\]|\\.)*)"/g)].map((m) => m[1]!);
    expect(exprs.length).toBeGreaterThan(15);
    const queried = new Set(exprs.flatMap((e) => [...e.matchAll(/\bpragma_[a-z0-9_]+/g)].map((m) => m[0])));
    const all = await scrapeAll();
    // A family with no samples yet (a counter nobody incremented) still has its # TYPE line.
    const served = new Set(
      SERVICES.flatMap((s) => [
        ...all[s].series.map((x) => x.name),
        ...[...all[s].text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap((m) => (m[2] === "histogram" ? [`${m[1]}_bucket`, `${m[1]}_count`, `${m[1]}_sum`] : [m[1]!])),
      ]),
    );
    expect([...queried].filter((name) => !served.has(name))).toEqual([]);
  });

  it("/health/ready names postgres: up, then down (503) while the services' database refuses connections", async () => {
    const ready = await call(sys.baseUrl, "GET", "/health/ready");
    expect(ready.status).toBe(200);
    expect(Object.keys(ready.body.checks).sort()).toEqual(["postgres", "provider-worker", "rabbitmq", "redis", "registry", "resource-store"]);
    expect(ready.body.checks.postgres).toMatchObject({ status: "up", required: true });

    const dbName = new URL(sys.env.databaseUrl).pathname.slice(1);
    const admin = new PgClient({ connectionString: testInfraUrls().databaseUrl });
    await admin.connect();
    try {
      await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS false`);
      await admin.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [dbName]);
      const down = await waitFor(
        async () => {
          const r = await call(sys.baseUrl, "GET", "/health/ready");
          return r.status === 503 ? r : undefined;
        },
        { timeoutMs: 15_000, intervalMs: 200, message: "readiness never reported postgres down" },
      );
      expect(down.body.down).toEqual(["postgres"]);
      expect(down.body.checks.postgres.status).toBe("down");
      expect(down.body.checks.postgres.error).toMatch(/registry: \S+/);
      expect(down.body.checks.postgres.error).toMatch(/resource-store: \S+/);
      // The services themselves still answer over the bus.
      expect(down.body.checks.registry.status).toBe("up");
      expect(down.body.checks["resource-store"].status).toBe("up");
    } finally {
      await admin.query(`ALTER DATABASE "${dbName}" ALLOW_CONNECTIONS true`);
      await admin.end();
    }
    await waitFor(async () => ((await call(sys.baseUrl, "GET", "/health/ready")).status === 200 ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 200,
      message: "readiness never recovered",
    });
  }, 60_000);
});
