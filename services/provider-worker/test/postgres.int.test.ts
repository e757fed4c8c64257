import { createHash, createHmac, pbkdf2Sync } from "node:crypto";
import pg from "pg";
import { createTestEnv, type TestEnv } from "@pragma/testing";
import { newUlid } from "@pragma/ids";
import { Observer, startTestWorker, work, isSealed, opened } from "./helpers";
import { database, registerProject } from "./registry";
import type { RunningWorker } from "../src/service";

/** Checks a password against Postgres' stored SCRAM verifier: trust auth would let any password log in. */
function scramMatches(verifier: string, password: string): boolean {
  const m = /^SCRAM-SHA-256\$(\d+):([^$]+)\$([^:]+):(.+)$/.exec(verifier);
  if (!m) return false;
  const salted = pbkdf2Sync(password, Buffer.from(m[2]!, "base64"), Number(m[1]), 32, "sha256");
  const clientKey = createHmac("sha256", salted).update("Client Key").digest();
  return createHash("sha256").update(clientKey).digest("base64") === m[3];
}

describe("postgres provider against the project's registered database", () => {
  let env: TestEnv;
  let worker: RunningWorker;
  let bus: Observer;
  let registry: { close(): Promise<void> };
  let admin: pg.Client;
  const suffix = newUlid().slice(-8).toLowerCase();
  const roleName = `t_role_${suffix}`;
  const dbName = `t_db_${suffix}`;

  beforeAll(async () => {
    env = await createTestEnv("worker-postgres");
    const url = new URL(env.databaseUrl);
    registry = await registerProject(env, [database({ db_type: "postgres", port: url.port || "5432", db_name: url.pathname.slice(1), username: decodeURIComponent(url.username) || "postgres", password: decodeURIComponent(url.password) })]);
    ({ worker } = await startTestWorker(env, { PROVIDERS: "postgres" }));
    bus = await Observer.start(env);
    admin = new pg.Client({ connectionString: env.databaseUrl });
    await admin.connect();
  });
  afterAll(async () => {
    await admin?.query(`DROP DATABASE IF EXISTS ${dbName}`).catch(() => undefined);
    await admin?.query(`DROP ROLE IF EXISTS ${roleName}`).catch(() => undefined);
    await admin?.end();
    await bus?.close();
    await worker?.stop();
    await registry?.close();
    await env?.dispose();
  });

  const run = async (w: ReturnType<typeof work>) => {
    await bus.publish(w);
    const o = await bus.outcome(w.event_id, 20_000);
    if (o.kind !== "succeeded") throw new Error(`event failed: ${o.payload.error}`);
    // The password and connection string leave the worker sealed.
    const outputs = o.payload.outputs as Record<string, any>;
    for (const k of ["password", "connection_string"]) if (k in outputs) expect(isSealed(outputs[k])).toBe(true);
    return opened(outputs);
  };
  const role = (event_type: "CREATE" | "UPDATE" | "DELETE", config: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    work({ provider: "postgres", resource_type: "role", resource_name: "app", event_type, config, ...extra });
  const stored = async () => (await admin.query("SELECT rolname, rolcanlogin, rolconnlimit, rolpassword FROM pg_authid WHERE rolname = $1", [roleName])).rows[0];

  it("creates a login role whose output connection string logs in with its password", async () => {
    const out = await run(role("CREATE", { name: roleName }));
    expect(out).toMatchObject({ name: roleName, connection_string: expect.stringContaining(`postgresql://${roleName}:`) });
    const row = await stored();
    expect(row.rolcanlogin).toBe(true);
    expect(scramMatches(row.rolpassword, out.password)).toBe(true);
    const c = new pg.Client({ connectionString: out.connection_string });
    await c.connect();
    expect((await c.query("SELECT current_user AS u")).rows[0].u).toBe(roleName);
    await c.end();
  });

  it("is idempotent: a second CREATE converges, an UPDATE with the same config keeps the password, a changed config changes the role", async () => {
    const first = await run(role("CREATE", { name: roleName }));
    expect(scramMatches((await stored()).rolpassword, first.password)).toBe(true);

    const same = await run(role("UPDATE", { name: roleName }, { previous_config: { name: roleName }, outputs: first }));
    expect(same.password).toBe(first.password);
    expect(scramMatches((await stored()).rolpassword, first.password)).toBe(true);

    await run(role("UPDATE", { name: roleName, connection_limit: 7 }, { previous_config: { name: roleName }, outputs: first }));
    expect((await stored()).rolconnlimit).toBe(7);
  });

  it("creates a schema, an extension and a grant, and deletes them again", async () => {
    const schemaName = `s_${suffix}`;
    await run(work({ provider: "postgres", resource_type: "schema", resource_name: "s", config: { name: schemaName } }));
    await run(work({ provider: "postgres", resource_type: "extension", resource_name: "citext", config: { name: "citext", schema: schemaName } }));
    const grant = { role: roleName, privileges: ["USAGE"], on: "schema", object: schemaName };
    await run(work({ provider: "postgres", resource_type: "grant", resource_name: "g", config: grant }));
    const priv = async () => (await admin.query("SELECT has_schema_privilege($1, $2, 'USAGE') AS ok", [roleName, schemaName])).rows[0].ok;
    expect(await priv()).toBe(true);
    expect((await admin.query("SELECT extnamespace::regnamespace::text AS s FROM pg_extension WHERE extname = 'citext'")).rows[0]?.s).toBe(schemaName);

    await run(work({ provider: "postgres", resource_type: "grant", resource_name: "g", event_type: "DELETE", config: grant }));
    expect(await priv()).toBe(false);
    await run(work({ provider: "postgres", resource_type: "extension", resource_name: "citext", event_type: "DELETE", config: { name: "citext" } }));
    await run(work({ provider: "postgres", resource_type: "schema", resource_name: "s", event_type: "DELETE", config: { name: schemaName } }));
    expect((await admin.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schemaName])).rowCount).toBe(0);
    expect((await admin.query("SELECT 1 FROM pg_extension WHERE extname = 'citext'")).rowCount).toBe(0);
  });

  it("creates a database owned by the role, and DELETE drops it (twice is fine)", async () => {
    const cfg = { name: dbName, owner: roleName };
    const out = await run(work({ provider: "postgres", resource_type: "database", resource_name: "db", config: cfg }));
    expect(out).toMatchObject({ name: dbName, owner: roleName });
    await run(work({ provider: "postgres", resource_type: "database", resource_name: "db", config: cfg }));
    expect((await admin.query("SELECT pg_get_userbyid(datdba) AS o FROM pg_database WHERE datname = $1", [dbName])).rows[0]?.o).toBe(roleName);
    for (let i = 0; i < 2; i++) await run(work({ provider: "postgres", resource_type: "database", resource_name: "db", event_type: "DELETE", config: cfg }));
    expect((await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [dbName])).rowCount).toBe(0);
  });

  it("deletes the role", async () => {
    await run(role("DELETE", { name: roleName }));
    expect(await stored()).toBeUndefined();
  });

  it("fails permanently on a config the type rejects, without touching the database", async () => {
    const w = role("CREATE", { name: "bad name; DROP TABLE x" });
    await bus.publish(w);
    expect(await bus.outcome(w.event_id)).toMatchObject({ kind: "failed", payload: { permanent: true, error: expect.stringMatching(/invalid config: name/) } });
  });
});
