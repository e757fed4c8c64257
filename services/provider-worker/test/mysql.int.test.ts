import mysql from "mysql2/promise";
import { createTestEnv, type TestEnv } from "@pragma/testing";
import { newUlid } from "@pragma/ids";
import { Observer, startTestWorker, work, isSealed, opened } from "./helpers";
import { database, registerProject } from "./registry";
import type { RunningWorker } from "../src/service";

const MYSQL = { host: process.env.PRAGMA_TEST_MYSQL_HOST ?? "127.0.0.1", port: Number(process.env.PRAGMA_TEST_MYSQL_PORT ?? 3306), user: process.env.PRAGMA_TEST_MYSQL_USER ?? "root", password: process.env.PRAGMA_TEST_MYSQL_PASSWORD ?? "" };

describe("mysql provider against the project's registered MariaDB/MySQL", () => {
  let env: TestEnv;
  let worker: RunningWorker;
  let bus: Observer;
  let registry: { close(): Promise<void> };
  let admin: mysql.Connection;
  const suffix = newUlid().slice(-8).toLowerCase();
  const dbName = `t_db_${suffix}`;
  const userName = `t_user_${suffix}`;

  beforeAll(async () => {
    env = await createTestEnv("worker-mysql");
    admin = await mysql.createConnection({ ...MYSQL, database: "test" });
    registry = await registerProject(env, [database({ db_type: "mysql", host: MYSQL.host, port: String(MYSQL.port), username: MYSQL.user, password: MYSQL.password, db_name: "test" })]);
    ({ worker } = await startTestWorker(env, { PROVIDERS: "mysql" }));
    bus = await Observer.start(env);
  });
  afterAll(async () => {
    await admin?.query(`DROP DATABASE IF EXISTS \`${dbName}\``).catch(() => undefined);
    await admin?.query(`DROP USER IF EXISTS '${userName}'@'%'`).catch(() => undefined);
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
  const ev = (resource_type: string, event_type: "CREATE" | "UPDATE" | "DELETE", config: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
    work({ provider: "mysql", resource_type, resource_name: resource_type, event_type, config, ...extra });
  const loginAs = async (url: string) => {
    const c = await mysql.createConnection(url);
    const [rows] = await c.query("SELECT CURRENT_USER() AS u");
    await c.end();
    return (rows as { u: string }[])[0]!.u;
  };

  it("creates a database, a user that logs in with its connection string, and a grant; all idempotent", async () => {
    await run(ev("database", "CREATE", { name: dbName }));
    await run(ev("database", "CREATE", { name: dbName }));
    const [dbs] = await admin.query("SELECT DEFAULT_CHARACTER_SET_NAME AS c FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [dbName]);
    expect((dbs as { c: string }[])[0]?.c).toBe("utf8mb4");

    const user = await run(ev("user", "CREATE", { name: userName, database: dbName }));
    expect(user.connection_string).toMatch(new RegExp(`^mysql://${userName}:`));


    const grant = { user: userName, privileges: ["SELECT", "INSERT"], database: dbName };
    await run(ev("grant", "CREATE", grant));
    await run(ev("grant", "CREATE", grant));
    // Logging in to the database needs the grant, so the connection string is checked now.
    expect(await loginAs(user.connection_string)).toBe(`${userName}@%`);
    // A wrong password is refused: the server really checks it.
    await expect(loginAs(user.connection_string.replace(`:${user.password}@`, ":wrong@"))).rejects.toThrow(/Access denied/);
    const grants = async () => ((await admin.query(`SHOW GRANTS FOR '${userName}'@'%'`))[0] as Record<string, string>[]).map((r) => Object.values(r)[0]).join("\n");
    expect(await grants()).toMatch(new RegExp(`GRANT SELECT, INSERT ON \`${dbName}\`\\.\\*`));

    const same = await run(ev("user", "UPDATE", { name: userName, database: dbName }, { previous_config: { name: userName, database: dbName }, outputs: user }));
    expect(same.password).toBe(user.password);
    expect(await loginAs(user.connection_string)).toBe(`${userName}@%`);

    await run(ev("grant", "UPDATE", { ...grant, privileges: ["SELECT"] }, { previous_config: grant }));
    expect(await grants()).toMatch(new RegExp(`GRANT SELECT ON \`${dbName}\`\\.\\*`));
    expect(await grants()).not.toMatch(/INSERT/);

    await run(ev("grant", "DELETE", { ...grant, privileges: ["SELECT"] }));
    expect(await grants()).not.toMatch(new RegExp(dbName));
  });

  it("DELETE removes the user and the database, and repeating it is fine", async () => {
    for (let i = 0; i < 2; i++) {
      await run(ev("user", "DELETE", { name: userName }));
      await run(ev("database", "DELETE", { name: dbName }));
    }
    const [users] = await admin.query("SELECT 1 FROM mysql.user WHERE User = ?", [userName]);
    expect(users).toHaveLength(0);
    const [dbs] = await admin.query("SELECT 1 FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = ?", [dbName]);
    expect(dbs).toHaveLength(0);
  });

  it("refuses to rename a database (permanent failure)", async () => {
    const w = ev("database", "UPDATE", { name: `${dbName}_x` }, { previous_config: { name: dbName } });
    await bus.publish(w);
    expect(await bus.outcome(w.event_id)).toMatchObject({ kind: "failed", payload: { permanent: true, error: expect.stringMatching(/cannot be renamed/) } });
  });
});
