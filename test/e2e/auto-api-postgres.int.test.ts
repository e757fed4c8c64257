import pg from "pg";
import { RPC_QUEUES, autoRequests } from "@pragma/contracts";
import { createLogger } from "@pragma/logger";
import { connectBroker } from "@pragma/messaging";
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

describe("Auto API reads on PostgreSQL: the worker's JSON text is the body", () => {
  const dbName = `autoapi_json_${Date.now().toString(36)}`;
  let sys: Awaited<ReturnType<typeof startSystem>>;
  let db: Awaited<ReturnType<typeof createDb>>;
  let headers: Record<string, string>;
  let t: Awaited<ReturnType<typeof tenant>>;
  beforeAll(async () => {
    db = await createDb(dbName);
    await db.exec(`
      CREATE TABLE wide (id int PRIMARY KEY, "r" text, "we""ird" int, big bigint, amount numeric(30,10), f float8, meta jsonb, doc json,
        at timestamptz, naive timestamp, day date, data bytea, bigs bigint[], span interval, tags text[]);
      INSERT INTO wide VALUES
        (1, 'a "quoted" line
      two', -1, 9223372036854775807, 12345678901234567890.0123456789, 'NaN', '{"n": 12345678901234567891, "f": 0.1}', '{"k":  [1,2]}',
         '2024-01-02 03:04:05.123456+00', '2024-01-02 03:04:05.5', '2024-02-29', decode(repeat('00ff', 60), 'hex'), '{1,9007199254740993}', '1 day 02:00:00', '{"a b",c}'),
        (2, NULL, NULL, NULL, NULL, '-Infinity', NULL, NULL, 'infinity', NULL, NULL, NULL, NULL, NULL, NULL);`);
    sys = await startSystem("auto-api-json");
    t = await tenant(sys, [{ ...server, db_name: dbName, db_type: "postgres", connect_timeout_secs: 5, idle_timeout_secs: 30, max_open_connections: 2, max_idle_connections: 1 }]);
    headers = { authorization: `Bearer ${t.member}`, "x-project-id": t.projectId };
  });
  afterAll(async () => {
    await sys?.stop();
    await db?.drop();
  });

  it("keeps every digit of a jsonb number (nothing on the way parses the rows) and writes each type as before", async () => {
    const r = await call(sys.baseUrl, "GET", `/auto/v1/postgres/${dbName}/wide?order=id`, { headers });
    expect(r.status).toBe(200);
    expect(r.headers.get("content-type")).toMatch(/^application\/json/);
    // A JSON.parse anywhere between PostgreSQL and the client would have made this 12345678901234567000.
    expect(r.text).toContain('"n": 12345678901234567891');
    expect(r.body).toEqual([
      {
        id: 1,
        r: 'a "quoted" line\n      two',
        'we"ird': -1,
        big: "9223372036854775807",
        amount: "12345678901234567890.0123456789",
        f: null,
        meta: { n: expect.any(Number), f: 0.1 },
        doc: { k: [1, 2] },
        at: "2024-01-02T03:04:05.123Z",
        naive: "2024-01-02T03:04:05.500Z",
        day: "2024-02-29",
        data: Buffer.from("00ff".repeat(60), "hex").toString("base64"),
        bigs: ["1", "9007199254740993"],
        span: expect.anything(),
        tags: ["a b", "c"],
      },
      { id: 2, r: null, 'we"ird': null, big: null, amount: null, f: null, meta: null, doc: null, at: null, naive: null, day: null, data: null, bigs: null, span: null, tags: null },
    ]);
    const one = await call(sys.baseUrl, "GET", `/auto/v1/postgres/${dbName}/wide/1?select=id,big,at`, { headers });
    expect(one.status).toBe(200);
    expect(one.text).toBe('{"id":1,"big":"9223372036854775807","at":"2024-01-02T03:04:05.123Z"}');
    const counted = await call(sys.baseUrl, "GET", `/auto/v1/postgres/${dbName}/wide?select=id&order=id.desc&count=exact&limit=1`, { headers });
    expect(counted.text).toBe('[{"id":2}]');
    expect(counted.headers.get("x-total-count")).toBe("2");
    expect((await call(sys.baseUrl, "GET", `/auto/v1/postgres/${dbName}/wide/3`, { headers })).status).toBe(404);
  });

  it("the worker's raw reply (v3) says what the previous release's read (v1, rows as objects) says, and the gateway's body is its bytes", async () => {
    const broker = await connectBroker({ url: sys.env.amqpUrl, logger: createLogger({ service: "test-probe", level: "silent" }), connectionName: "test probe" });
    try {
      const target = { org_id: t.orgId, project_id: t.projectId, db_type: "postgres" as const, db_name: dbName, table: "wide" };
      const read = async (query: [string, string][], key?: string) => {
        const q = { ...target, query, ...(key === undefined ? {} : { key }) };
        const [v1, v3] = await Promise.all([broker.request(RPC_QUEUES.providerWorker, autoRequests.read, q), broker.request(RPC_QUEUES.providerWorker, autoRequests.readBody, q)]);
        return { v1, v3 };
      };
      const all = await read([["order", "id"], ["count", "exact"]]);
      // Same values (v3's text parsed loses the jsonb digits v1's objects lost already).
      expect(JSON.parse(Buffer.from(all.v3.body).toString())).toEqual(all.v1.rows);
      expect(all.v3.meta).toEqual({ rows: 2, total: all.v1.total });
      const http = await fetch(`${sys.baseUrl}/auto/v1/postgres/${dbName}/wide?order=id&count=exact`, { headers });
      expect(Buffer.from(await http.arrayBuffer()).equals(Buffer.from(all.v3.body))).toBe(true);
      const one = await read([["select", "id,r"]], "1");
      expect(JSON.parse(Buffer.from(one.v3.body).toString())).toEqual(one.v1.rows[0]);
      expect(one.v3.meta).toEqual({ rows: 1 });
      const none = await read([], "3");
      expect([none.v3.body.length, none.v3.meta, none.v1.rows]).toEqual([0, { rows: 0 }, []]);
    } finally {
      await broker.close();
    }
  });

  it("reads on after a column's type changes under a statement the worker has prepared", async () => {
    const path = `/auto/v1/postgres/${dbName}/wide?select=id,we%22ird&order=id`;
    // Concurrent and repeated, so both pool connections have prepared this read.
    for (let i = 0; i < 3; i++) for (const r of await Promise.all([1, 2, 3, 4].map(() => call(sys.baseUrl, "GET", path, { headers })))) expect(r.status).toBe(200);
    await db.exec(`ALTER TABLE wide ALTER COLUMN "we""ird" TYPE bigint`);
    // Same SQL text, new result type: PostgreSQL refuses the prepared plan (0A000); the worker runs it unnamed.
    for (const r of await Promise.all([1, 2, 3, 4].map(() => call(sys.baseUrl, "GET", path, { headers })))) {
      expect(r.status).toBe(200);
      expect(r.body).toEqual([{ id: 1, 'we"ird': "-1" }, { id: 2, 'we"ird': null }]);
    }
  });
});
