import pg from "pg";
import { testInfraUrls, waitFor } from "@pragma/testing";
import { autoApiSuite, call, startSystem, tenant } from "./auto-api-suite";

const admin = () => new pg.Client({ connectionString: testInfraUrls().databaseUrl });
const urlFor = (db: string) => {
  const u = new URL(testInfraUrls().databaseUrl);
  u.pathname = `/${db}`;
  return u.toString();
};
const server = (() => {
  const u = new URL(testInfraUrls().databaseUrl);
  return { host: u.hostname, port: u.port || "5432", username: decodeURIComponent(u.username) || "postgres", password: decodeURIComponent(u.password) || "unused-trust-auth" };
})();

async function createDb(name: string) {
  const a = admin();
  await a.connect();
  await a.query(`CREATE DATABASE "${name}"`);
  await a.end();
  const c = new pg.Client({ connectionString: urlFor(name) });
  await c.connect();
  await c.query(`
    CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL CONSTRAINT items_name_key UNIQUE, qty int NOT NULL DEFAULT 7,
      price numeric(10,2) NOT NULL, big bigint NOT NULL, active boolean NOT NULL, meta jsonb, created timestamptz NOT NULL, data bytea, note text);
    CREATE TABLE parents (id int PRIMARY KEY);
    CREATE TABLE children (id int PRIMARY KEY, parent_id int NOT NULL, CONSTRAINT children_parent_fk FOREIGN KEY (parent_id) REFERENCES parents(id));
    CREATE VIEW active_items AS SELECT id, name FROM items WHERE active;
    CREATE VIEW slow AS SELECT 1 AS one FROM pg_sleep(3);
    CREATE VIEW sleepy AS SELECT 1 AS one FROM pg_sleep(0.3);`);
  return {
    exec: async (sql: string) => (await c.query(sql)).rows,
    drop: async () => {
      await c.end();
      const d = admin();
      await d.connect();
      await d.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await d.end();
    },
  };
}

describe("Auto API on PostgreSQL", () => {
  autoApiSuite({ name: "postgres", server, create: createDb });
});

describe("Auto API pools on PostgreSQL: the registered settings govern the connections", () => {
  const dbName = `autoapi_pool_${Date.now().toString(36)}`;
  let sys: Awaited<ReturnType<typeof startSystem>>;
  let db: Awaited<ReturnType<typeof createDb>>;
  beforeAll(async () => {
    db = await createDb(dbName);
    sys = await startSystem("auto-api-pool");
  });
  afterAll(async () => {
    await sys?.stop();
    await db?.drop();
  });

  const entry = (max: number) => ({ ...server, db_name: dbName, db_type: "postgres", connect_timeout_secs: 10, idle_timeout_secs: 30, max_open_connections: max, max_idle_connections: 1 });
  /** Fires `n` slow reads at once and samples pg_stat_activity meanwhile; the most worker connections seen. */
  async function peak(t: Awaited<ReturnType<typeof tenant>>, n: number): Promise<number> {
    const path = `/auto/v1/postgres/${dbName}/sleepy`;
    const reads = Promise.all(Array.from({ length: n }, () => call(sys.baseUrl, "GET", path, { headers: { authorization: `Bearer ${t.member}`, "x-project-id": t.projectId } })));
    let most = 0;
    let done = false;
    void reads.finally(() => (done = true));
    while (!done) {
      const rows = await db.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = '${dbName}' AND application_name = 'pragma-provider-worker'`);
      most = Math.max(most, (rows[0] as { n: number }).n);
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const r of await reads) expect(r.status).toBe(200);
    return most;
  }

  it("closes idle connections after idle_timeout_secs", async () => {
    const t = await tenant(sys, [{ ...entry(3), idle_timeout_secs: 1 }]);
    expect(await peak(t, 6)).toBe(3);
    const open = async () => (await db.exec(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = '${dbName}' AND application_name = 'pragma-provider-worker'`))[0] as { n: number };
    // Well under pg's own default of 10 s, so the registered value is what closed them.
    await waitFor(async () => ((await open()).n === 0 ? true : undefined), { timeoutMs: 6_000, intervalMs: 200, message: "idle connections were not closed within 6 s of idle_timeout_secs: 1" });
  });

  it("answers 503 naming the cause when the registered database cannot be reached, within connect_timeout_secs", async () => {
    const t = await tenant(sys, [{ ...entry(2), host: "127.0.0.1", port: "1", connect_timeout_secs: 2 }]);
    const started = Date.now();
    const r = await call(sys.baseUrl, "GET", `/auto/v1/postgres/${dbName}/sleepy`, { headers: { authorization: `Bearer ${t.member}`, "x-project-id": t.projectId } });
    expect(r.status).toBe(503);
    expect(r.body.detail).toMatch(/database unreachable: .*ECONNREFUSED/);
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it("opens at most max_open_connections per worker, and a PATCH of the project rebuilds the pool with the new cap", async () => {
    const t = await tenant(sys, [entry(2)]);
    expect(await peak(t, 12)).toBe(2);
    const patched = await call(sys.baseUrl, "PATCH", `/orgs/${t.orgId}/projects/${t.projectId}`, { headers: { "x-server-key": "test-server-key-0123456789abcdef" }, body: { database: [entry(4)] } });
    expect(patched.status).toBe(200);
    // The old pool's connections close when it is replaced; wait for the registry's notification to reach the worker.
    await new Promise((r) => setTimeout(r, 500));
    expect(await peak(t, 16)).toBe(4);
  });
});
