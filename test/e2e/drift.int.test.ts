import { Client as Pg } from "pg";
import { testInfraUrls, waitFor } from "@pragma/testing";
import { startSystem, type RunningSystem } from "./system";
import mysql from "mysql2/promise";
import { Client, createOrg, enc, rid, type Org } from "./tenant";
import { tenant as tenantWith } from "./auto-api-suite";

/**
 * Drift (api.md §9) with the real store, worker, broker and PostgreSQL: change what a
 * resource provisioned behind the platform's back (drop a role, change a database's
 * owner, revoke a grant), and see it detected on the broker-carried schedule and healed
 * through the lifecycle, or only reported under drift_policy "report"; the resources'
 * history tells the story. A 1 s observe interval (store and worker read the same env).
 */
let sys: RunningSystem;
let org: Org;
let c: Client;
let pg: Pg;
const suffix = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;
const roleName = (n: string) => `drift_${n}_${suffix}`;
const created: { roles: string[]; databases: string[] } = { roles: [], databases: [] };
const mysqlCleanup: (() => Promise<void>)[] = [];

beforeAll(async () => {
  // A cycle is overdue 3 intervals + 2 s after its last result; each replica sweeps every 0.5 s.
  sys = await startSystem("drift", { OBSERVE_INTERVAL_MS: "1000", OBSERVE_TIERS_MS: "1000", OBSERVE_OVERDUE_GRACE_MS: "2000", OBSERVE_SWEEP_INTERVAL_MS: "500" });
  org = await createOrg(sys.baseUrl);
  c = org.client();
  pg = new Pg({ connectionString: testInfraUrls().databaseUrl });
  await pg.connect();
});
afterAll(async () => {
  await sys?.stop();
  for (const clean of mysqlCleanup) await clean();
  for (const d of created.databases) await pg?.query(`DROP DATABASE IF EXISTS "${d}" WITH (FORCE)`).catch(() => undefined);
  for (const r of created.roles) {
    await pg?.query(`DROP OWNED BY "${r}"`).catch(() => undefined);
    await pg?.query(`DROP ROLE IF EXISTS "${r}"`).catch(() => undefined);
  }
  await pg?.end();
});

interface Entry {
  kind: string;
  summary: string;
  event_id: string | null;
}
const history = async (id: string): Promise<Entry[]> => (await c.req("GET", `/resources/${enc(id)}/events`)).body.items as Entry[];
const roleExists = async (name: string) => (await pg.query("SELECT 1 FROM pg_roles WHERE rolname = $1", [name])).rowCount === 1;

async function applyReady(body: Record<string, unknown>) {
  const res = await c.apply({ lifecycle_state: "pending", ...body });
  expect(res.status).toBe(200);
  const id = res.body.id as string;
  await c.waitFor(id, "ready", 60_000);
  return id;
}

/** Waits until the history holds `kind` newer than `after` entries ago (newest first). */
async function waitForHistory(id: string, kinds: string[], timeoutMs = 60_000): Promise<Entry[]> {
  return waitFor(
    async () => {
      const h = await history(id);
      return kinds.every((k) => h.some((e) => e.kind === k)) ? h : undefined;
    },
    { timeoutMs, intervalMs: 200, message: `${id}: history never had ${kinds.join(", ")}` },
  );
}

const MYSQL = { host: process.env.PRAGMA_TEST_MYSQL_HOST ?? "127.0.0.1", port: Number(process.env.PRAGMA_TEST_MYSQL_PORT ?? 3306), user: process.env.PRAGMA_TEST_MYSQL_USER ?? "root", password: process.env.PRAGMA_TEST_MYSQL_PASSWORD ?? "" };

describe("drift", () => {
  it("a role dropped by hand is detected and healed (re-created through pending → ready)", async () => {
    const name = roleName("r");
    created.roles.push(name);
    const id = await applyReady({ provider: "postgres", resource: "role", name: "dropped", config: { name } });
    expect(await roleExists(name)).toBe(true);

    await pg.query(`DROP ROLE "${name}"`);
    const h = await waitForHistory(id, ["drift_detected", "healed"]);
    expect(await roleExists(name)).toBe(true);
    const ready = await c.waitFor(id, "ready");
    expect(ready.body.drift).toBeNull();
    expect(ready.body.drift_policy).toBe("heal");

    // Newest first: healed, succeeded (the heal's UPDATE), …, queued UPDATE, drift_detected, and the original create below.
    const kinds = h.map((e) => e.kind).filter((k) => k !== "started");
    const detected = kinds.indexOf("drift_detected");
    expect(kinds.slice(0, detected + 1)).toEqual(["healed", "succeeded", "queued", "drift_detected"]);
    expect(h.find((e) => e.kind === "drift_detected")!.summary).toContain("gone");
    expect(h.find((e) => e.kind === "queued")!.summary).toBe("UPDATE queued");
    expect(kinds.slice(detected + 1)).toEqual(["succeeded", "queued", "applied"]);
  });

  // The broker carries each cycle, so a lost message would end it silently; the store's
  // sweeper restarts what is overdue. The loss is made in the store's database: the cycle's
  // tick no longer matches the message in flight (as after a publish that failed after
  // commit), so that message's result is not taken and nothing publishes the next one.
  it("a cycle whose message was lost is restarted by the sweeper, and drift after it is still healed", async () => {
    const name = roleName("lost");
    created.roles.push(name);
    const id = await applyReady({ provider: "postgres", resource: "role", name: "lost-cycle", config: { name } });
    const store = new Pg({ connectionString: sys.env.databaseUrl });
    await store.connect();
    try {
      const cycle = () => store.query<{ tick: string }>("SELECT tick FROM resource_store.resource_observations WHERE resource_id = $1", [id]).then((r) => r.rows[0]);
      await waitFor(async () => (await cycle()) ?? undefined, { timeoutMs: 30_000, message: "the resource was never observed" });
      await store.query("UPDATE resource_store.resource_observations SET tick = 'lost' WHERE resource_id = $1", [id]);
      // Restarted once it is overdue (about 5 s): a new tick, which the next result then carries.
      await waitFor(async () => ((await cycle())?.tick !== "lost" ? true : undefined), { timeoutMs: 30_000, message: "the lost cycle was never restarted" });
      await pg.query(`DROP ROLE "${name}"`);
      await waitForHistory(id, ["drift_detected", "healed"]);
      expect(await roleExists(name)).toBe(true);
    } finally {
      await store.end();
    }
  });

  it("a ready resource that was never observed (ready before observation was on) is found by the sweeper and observed", async () => {
    const name = roleName("old");
    created.roles.push(name);
    const id = await applyReady({ provider: "postgres", resource: "role", name: "never-observed", config: { name } });
    const store = new Pg({ connectionString: sys.env.databaseUrl });
    await store.connect();
    try {
      // As a resource made ready by a version without drift: no observation id, no cycle, and
      // a message in flight of the generation that no longer exists ends at its result.
      await store.query("UPDATE resource_store.resources SET observation_id = NULL, updated_at = now() - interval '1 minute' WHERE resource_id = $1", [id]);
      await store.query("DELETE FROM resource_store.resource_observations WHERE resource_id = $1", [id]);
      await waitFor(async () => ((await store.query("SELECT 1 FROM resource_store.resources r JOIN resource_store.resource_observations o USING (org_id, project_id, space_id, resource_id) WHERE r.resource_id = $1 AND o.generation = r.observation_id", [id])).rowCount === 1 ? true : undefined), {
        timeoutMs: 30_000,
        message: "the never-observed resource was never given a cycle",
      });
      await pg.query(`DROP ROLE "${name}"`);
      await waitForHistory(id, ["drift_detected", "healed"]);
      expect(await roleExists(name)).toBe(true);
    } finally {
      await store.end();
    }
  });

  it("a database whose owner was changed by hand is detected (field owner) and healed back to the applied owner", async () => {
    const ownerA = roleName("oa");
    const ownerB = roleName("ob");
    const dbName = `drift_db_${suffix}`;
    created.roles.push(ownerA, ownerB);
    created.databases.push(dbName);
    await pg.query(`CREATE ROLE "${ownerA}"`);
    await pg.query(`CREATE ROLE "${ownerB}"`);
    const id = await applyReady({ provider: "postgres", resource: "database", name: "owned", config: { name: dbName, owner: ownerA } });

    await pg.query(`ALTER DATABASE "${dbName}" OWNER TO "${ownerB}"`);
    const h = await waitForHistory(id, ["drift_detected", "healed"]);
    expect(h.find((e) => e.kind === "drift_detected")!.summary).toContain("owner");
    const owner = await pg.query("SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1", [dbName]);
    expect(owner.rows[0].owner).toBe(ownerA);
    expect((await c.waitFor(id, "ready")).body.drift).toBeNull();
  });

  it("a grant revoked by hand is detected (field privileges) and granted again", async () => {
    const grantee = roleName("g");
    created.roles.push(grantee);
    await applyReady({ provider: "postgres", resource: "role", name: "grantee", config: { name: grantee, login: false } });
    const id = await applyReady({
      provider: "postgres",
      resource: "grant",
      name: "connect",
      config: { role: grantee, privileges: ["CONNECT", "TEMPORARY"], on: "database", object: "postgres" },
    });
    const held = async () =>
      (await pg.query("SELECT has_database_privilege($1, 'postgres', 'TEMPORARY') AS t", [grantee])).rows[0].t as boolean;
    expect(await held()).toBe(true);

    await pg.query(`REVOKE TEMPORARY ON DATABASE postgres FROM "${grantee}"`);
    const h = await waitForHistory(id, ["drift_detected", "healed"]);
    expect(h.find((e) => e.kind === "drift_detected")!.summary).toContain("privileges");
    expect(await held()).toBe(true);
    await pg.query(`REVOKE ALL ON DATABASE postgres FROM "${grantee}"`);
  });

  it('under drift_policy "report" drift is only recorded (visible on the resource), and clears when the real object is put back', async () => {
    const name = roleName("rep");
    created.roles.push(name);
    const id = await applyReady({ provider: "postgres", resource: "role", name: "reported", config: { name, login: false }, drift_policy: "report" });

    await pg.query(`DROP ROLE "${name}"`);
    const drifted = await waitFor(
      async () => {
        const r = await c.req("GET", `/resources/${enc(id)}`, undefined);
        return r.body?.drift ? r : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200, message: "drift never shown on the resource" },
    );
    expect(drifted.body).toMatchObject({ lifecycle_state: "ready", drift_policy: "report", drift: { fields: ["exists"] } });
    // Not healed: a few more observations later the role is still gone and nothing was queued.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(await roleExists(name)).toBe(false);
    const h = await history(id);
    expect(h.filter((e) => e.kind === "drift_detected")).toHaveLength(1);
    expect(h.some((e) => e.kind === "healed" || (e.kind === "queued" && e.summary.startsWith("UPDATE")))).toBe(false);
    // The list shows it too.
    const list = await c.list("provider=postgres&resource=role");
    expect((list.body as { id: string; drift: unknown }[]).find((r) => r.id === id)?.drift).toMatchObject({ fields: ["exists"] });

    // Someone puts it back by hand: the next observation clears the drift.
    await pg.query(`CREATE ROLE "${name}" NOLOGIN`);
    await waitForHistory(id, ["healed"]);
    expect((await c.get(id)).body.drift).toBeNull();
  });

  it("POST /resources/{id}/refresh: 202 for a ready resource, 409 for one not ready, 404 for none", async () => {
    const id = await applyReady({ provider: "pragma", resource: "config", name: "refreshed", config: { a: 1 } });
    const ok = await c.req("POST", `/resources/${enc(id)}/refresh`);
    expect(ok.status).toBe(202);
    expect(ok.body).toMatchObject({ resource_id: id, observation_id: expect.stringMatching(/^obs_/) });
    await c.apply({ provider: "pragma", resource: "config", name: "draft-one", config: {} });
    const draft = await c.req("POST", `/resources/${enc(rid({ provider: "pragma", resource: "config", name: "draft-one" }))}/refresh`);
    expect(draft.status).toBe(409);
    expect(draft.body.detail).toContain("draft");
    expect((await c.req("POST", `/resources/${enc("resource:pragma_config_nope")}/refresh`)).status).toBe(404);
  });

  it("mysql: a database's charset, a dropped user and a revoked grant, changed by hand, are each detected and healed", async () => {
    const my = await mysql.createConnection(MYSQL);
    const dbName = `drift_my_${suffix}`;
    const user = `dr_${suffix}`.slice(0, 32);
    // Run after the system stops (afterAll), so no heal re-creates them; registered first, so a failure below still closes the connection.
    mysqlCleanup.push(async () => {
      await my.query(`DROP USER IF EXISTS '${user}'@'%'`).catch(() => undefined);
      await my.query(`DROP DATABASE IF EXISTS \`${dbName}\``).catch(() => undefined);
      await my.end();
    });
    {
      const t = await tenantWith(sys, [{ host: MYSQL.host, port: String(MYSQL.port), username: MYSQL.user, password: MYSQL.password, db_name: "test", db_type: "mysql", connect_timeout_secs: 5, idle_timeout_secs: 30, max_open_connections: 3, max_idle_connections: 1 }]);
      const m = new Client(sys.baseUrl, t.member, t.projectId, t.spaceId);
      const apply = async (body: Record<string, unknown>) => {
        const res = await m.apply({ lifecycle_state: "pending", ...body });
        expect(res.status).toBe(200);
        await m.waitFor(res.body.id, "ready", 60_000);
        return res.body.id as string;
      };
      const kindsOf = async (id: string) => ((await m.req("GET", `/resources/${enc(id)}/events`)).body.items as Entry[]).map((e) => e.kind);
      const healed = (id: string) =>
        waitFor(async () => ((await kindsOf(id)).includes("healed") ? true : undefined), { timeoutMs: 45_000, intervalMs: 200, message: `${id} never healed` });

      const dbId = await apply({ provider: "mysql", resource: "database", name: "db", config: { name: dbName } });
      const userId = await apply({ provider: "mysql", resource: "user", name: "u", config: { name: user } });
      const grantId = await apply({ provider: "mysql", resource: "grant", name: "g", config: { user, privileges: ["SELECT", "INSERT"], database: dbName } });

      await my.query(`ALTER DATABASE \`${dbName}\` CHARACTER SET latin1`);
      await healed(dbId);
      const [cs] = (await my.query("SELECT DEFAULT_CHARACTER_SET_NAME AS c FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [dbName])) as unknown as [{ c: string }[]];
      expect(cs[0]!.c).toBe("utf8mb4");

      await my.query(`REVOKE INSERT ON \`${dbName}\`.* FROM '${user}'@'%'`);
      await healed(grantId);
      const [privs] = (await my.query("SELECT PRIVILEGE_TYPE AS p FROM information_schema.SCHEMA_PRIVILEGES WHERE GRANTEE = ? AND TABLE_SCHEMA = ?", [`'${user}'@'%'`, dbName])) as unknown as [{ p: string }[]];
      expect(privs.map((r) => r.p).sort()).toEqual(["INSERT", "SELECT"]);

      await my.query(`DROP USER '${user}'@'%'`);
      await healed(userId);
      const [users] = (await my.query("SELECT 1 AS x FROM mysql.user WHERE User = ? AND Host = '%'", [user])) as unknown as [unknown[]];
      expect(users).toHaveLength(1);
    }
  }, 200_000);
});
