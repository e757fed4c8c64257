import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import pg from "pg";
import mysql from "mysql2/promise";
import { createTestEnv, waitFor, type TestEnv } from "@pragma/testing";
import { newUlid } from "@pragma/ids";
import { Observer, startTestWorker, work, opened } from "./helpers";
import { database, registerProject } from "./registry";
import type { RunningWorker } from "../src/service";

const MYSQL = { host: process.env.PRAGMA_TEST_MYSQL_HOST ?? "127.0.0.1", port: Number(process.env.PRAGMA_TEST_MYSQL_PORT ?? 3306), user: process.env.PRAGMA_TEST_MYSQL_USER ?? "root", password: process.env.PRAGMA_TEST_MYSQL_PASSWORD ?? "" };

/** Checks a password against Postgres' stored SCRAM verifier: trust auth would let any password log in. */
function scramMatches(verifier: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  if (!m) return false;
  const salted = pbkdf2Sync(password, Buffer.from(m[2]!, "base64"), Number(m[1]), 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  return createHash("sha256").update(clientKey).digest("base64") === m[3];
}

/**
 * Issue 27.6: a create whose object appears meanwhile (a killed worker's leftover backend
 * created the role) converges instead of failing. The race is made exact, not hoped for:
 * another session creates the object in an open transaction, so the worker's existence
 * check (or IF NOT EXISTS) sees nothing and its CREATE blocks on the catalog's unique
 * index; committing then hands the worker the very 23505 the fault run saw.
 */
describe("a create racing another creator of the same object converges (postgres, mysql)", () => {
  let env: TestEnv;
  let worker: RunningWorker;
  let bus: Observer;
  let registry: { close(): Promise<void> };
  let admin: pg.Client;
  let other: pg.Client;
  let my: mysql.Connection;
  const suffix = newUlid().slice(-8).toLowerCase();
  const roleName = `t_race_role_${suffix}`;
  const dbName = `t_race_db_${suffix}`;
  const spareDb = `t_race_spare_${suffix}`;
  const schemaName = `t_race_s_${suffix}`;
  const myUser = `t_race_${suffix}`;
  const myDb = `t_race_db_${suffix}`;

  beforeAll(async () => {
    env = await createTestEnv("worker-concurrent-create");
    const url = new URL(env.databaseUrl);
    my = await mysql.createConnection({ ...MYSQL, database: "test" });
    registry = await registerProject(env, [
      database({ db_type: "postgres", port: url.port || "5432", db_name: url.pathname.slice(1), username: decodeURIComponent(url.username) || "postgres", password: decodeURIComponent(url.password) }),
      database({ db_type: "mysql", host: MYSQL.host, port: String(MYSQL.port), username: MYSQL.user, password: MYSQL.password, db_name: "test" }),
    ]);
    ({ worker } = await startTestWorker(env, { PROVIDERS: "postgres,mysql" }));
    bus = await Observer.start(env);
    admin = new pg.Client({ connectionString: env.databaseUrl });
    other = new pg.Client({ connectionString: env.databaseUrl });
    await admin.connect();
    await other.connect();
  });
  afterAll(async () => {
    await other?.query("ROLLBACK").catch(() => undefined);
    await other?.end();
    for (const sql of [`DROP DATABASE IF EXISTS ${dbName}`, `DROP DATABASE IF EXISTS ${spareDb}`, `DROP ROLE IF EXISTS ${roleName}`]) await admin?.query(sql).catch(() => undefined);
    await admin?.end();
    for (const sql of [`DROP DATABASE IF EXISTS \`${myDb}\``, `DROP USER IF EXISTS '${myUser}'@'%'`]) await my?.query(sql).catch(() => undefined);
    await my?.end();
    await bus?.close();
    await worker?.stop();
    await registry?.close();
    await env?.dispose();
  });

  const outcome = async (w: ReturnType<typeof work>) => {
    const o = await bus.outcome(w.event_id, 30_000);
    if (o.kind !== "succeeded") throw new Error(`event failed: ${o.payload.error}`);
    return opened(o.payload.outputs as Record<string, any>);
  };

  /** Runs `w` while `other` holds the object uncommitted; commits once the worker's CREATE waits on it. */
  async function raceAgainst(w: ReturnType<typeof work>, createInOpenTransaction: string[], statementPrefix: string) {
    await other.query("BEGIN");
    for (const sql of createInOpenTransaction) await other.query(sql);
    await bus.publish(w);
    await waitFor(
      async () =>
        ((await admin.query("SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1", [`${statementPrefix}%`])).rowCount ?? 0) > 0,
      { timeoutMs: 30_000, message: `the worker's ${statementPrefix} waiting on the open transaction` },
    );
    await other.query("COMMIT");
    return outcome(w);
  }

  it("role: adopts the role created meanwhile and sets its own password, which logs in", async () => {
    const w = work({ provider: "postgres", resource_type: "role", resource_name: "race-role", config: { name: roleName, connection_limit: 5 } });
    const out = await raceAgainst(w, [`CREATE ROLE ${roleName} NOLOGIN PASSWORD 'not-the-one'`], `CREATE ROLE "${roleName}"`);
    const row = (await admin.query("SELECT rolcanlogin, rolconnlimit, rolpassword FROM pg_authid WHERE rolname = $1", [roleName])).rows[0];
    expect(row).toMatchObject({ rolcanlogin: true, rolconnlimit: 5 });
    expect(scramMatches(row.rolpassword, out.password)).toBe(true);
    const c = new pg.Client({ connectionString: out.connection_string });
    await c.connect();
    expect((await c.query("SELECT current_user AS u")).rows[0].u).toBe(roleName);
    await c.end();
    expect(bus.deadLetters.filter((d) => d.payload.event_id === w.event_id)).toHaveLength(0);
  });

  it("database: adopts the database that appeared meanwhile and gives it the configured owner", async () => {
    await admin.query(`CREATE DATABASE ${spareDb}`);
    const w = work({ provider: "postgres", resource_type: "database", resource_name: "race-db", config: { name: dbName, owner: roleName } });
    // CREATE DATABASE cannot run in a transaction, but a rename can: same catalog row, same race.
    const out = await raceAgainst(w, [`ALTER DATABASE ${spareDb} RENAME TO ${dbName}`], `CREATE DATABASE "${dbName}"`);
    expect(out).toMatchObject({ name: dbName, owner: roleName });
    expect((await admin.query("SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = $1", [dbName])).rows[0]?.o).toBe(roleName);
  });

  it("schema and extension: IF NOT EXISTS racing an uncommitted create converges to the configured owner and schema", async () => {
    const s = work({ provider: "postgres", resource_type: "schema", resource_name: "race-s", config: { name: schemaName, owner: roleName } });
    expect(await raceAgainst(s, [`CREATE SCHEMA ${schemaName}`], `CREATE SCHEMA IF NOT EXISTS "${schemaName}"`)).toMatchObject({ name: schemaName, owner: roleName });
    expect((await admin.query("SELECT pg_get_userbyid(nspowner) AS o FROM pg_namespace WHERE nspname = $1", [schemaName])).rows[0]?.o).toBe(roleName);

    const e = work({ provider: "postgres", resource_type: "extension", resource_name: "race-citext", config: { name: "citext", schema: schemaName } });
    expect(await raceAgainst(e, ["CREATE EXTENSION citext SCHEMA public"], `CREATE EXTENSION IF NOT EXISTS "citext"`)).toMatchObject({ name: "citext", schema: schemaName });
    expect((await admin.query("SELECT extnamespace::regnamespace::text AS s FROM pg_extension WHERE extname = 'citext'")).rows[0]?.s).toBe(schemaName);
  });

  it("mysql: two creates of the same database and user at once both end ready, and the user logs in with the last password set", async () => {
    const db = (n: string) => work({ provider: "mysql", resource_type: "database", resource_name: n, config: { name: myDb } });
    const user = (n: string) => work({ provider: "mysql", resource_type: "user", resource_name: n, config: { name: myUser, database: myDb } });
    const dbs = [db("race-db-a"), db("race-db-b")];
    await Promise.all(dbs.map((w) => bus.publish(w)));
    for (const w of dbs) expect(await outcome(w)).toMatchObject({ name: myDb });
    const users = [user("race-user-a"), user("race-user-b")];
    await Promise.all(users.map((w) => bus.publish(w)));
    const outs = await Promise.all(users.map((w) => outcome(w)));
    await my.query(`GRANT SELECT ON \`${myDb}\`.* TO '${myUser}'@'%'`);
    // Each create sets its own password; one of them is the server's now, and it logs in.
    const logins = await Promise.all(
      outs.map((o) =>
        mysql.createConnection(o.connection_string).then(
          async (c) => (await c.end(), true),
          () => false,
        ),
      ),
    );
    expect(logins.filter(Boolean)).toHaveLength(1);
  });
});
