/**
 * The database-fault rule of @pragma/db against a real server: a pool survives the server
 * ending its connections (idle, and checked out between queries), and the errors a real
 * outage produces are classified as "unavailable" while statement errors are not.
 * Only this test's own backends are terminated (pg_terminate_backend by application_name).
 */
import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { Client } from "pg";
import { asDatabaseUnavailable, createPgPool, isDatabaseUnavailable } from "@pragma/db";
import { AppError } from "@pragma/errors";
import { createTestDatabase, waitFor, type TestDatabase } from "@pragma/testing";

let db: TestDatabase;
const warnings: { obj: Record<string, unknown>; msg: string }[] = [];
const logger = { warn: (obj: Record<string, unknown>, msg: string) => void warnings.push({ obj, msg }) };

beforeAll(async () => {
  db = await createTestDatabase("dbfaults");
});
afterAll(async () => {
  await db?.dispose();
});

/** Ends every backend of `appName` from another session, as a server restart does (57P01). */
async function terminate(appName: string): Promise<number> {
  const admin = new Client({ connectionString: db.databaseUrl });
  await admin.connect();
  try {
    const r = await admin.query("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1", [appName]);
    return r.rowCount ?? 0;
  } finally {
    await admin.end();
  }
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const srv = createServer().listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => resolve(port));
    });
  });
}

describe("createPgPool", () => {
  it("survives the server ending an idle and a checked-out connection, logs codes only, and the next query reconnects", async () => {
    const app = `t_faults_${randomBytes(4).toString("hex")}`;
    const pool = createPgPool({ connectionString: db.databaseUrl, max: 3 }, app, logger);
    try {
      const held = await pool.connect();
      await pool.query("SELECT 1"); // a second, idle connection
      expect(await terminate(app)).toBe(2);
      // Each lost connection is logged once, by code.
      await waitFor(async () => (warnings.length >= 2 ? true : undefined), { timeoutMs: 10_000, message: "the connection losses were not both logged" });
      expect(warnings.map((w) => w.obj)).toEqual(expect.arrayContaining([{ pool: app, code: "57P01" }]));
      expect(JSON.stringify(warnings)).not.toContain(db.databaseUrl);
      // The holder finds out on its next statement, as an outage; releasing discards the dead client.
      const err = await held.query("SELECT 1").catch((e: unknown) => e);
      expect(isDatabaseUnavailable(err)).toBe(true);
      held.release();
      expect((await pool.query("SELECT 2 AS n")).rows).toEqual([{ n: 2 }]);
    } finally {
      await pool.end();
    }
  });
});

describe("isDatabaseUnavailable on real failures", () => {
  it("is true for a refused connection, a terminated session and a connection timeout", async () => {
    const refused = createPgPool({ host: "127.0.0.1", port: await closedPort(), user: "postgres", database: "postgres" }, "t_refused");
    const refusedErr = await refused.query("SELECT 1").catch((e: unknown) => e);
    await refused.end();
    expect(isDatabaseUnavailable(refusedErr)).toBe(true);

    const app = `t_term_${randomBytes(4).toString("hex")}`;
    const client = new Client({ connectionString: db.databaseUrl, application_name: app });
    client.on("error", () => undefined);
    await client.connect();
    const sleeping = client.query("SELECT pg_sleep(30)").catch((e: unknown) => e);
    await waitFor(async () => ((await terminate(app)) > 0 ? true : undefined), { timeoutMs: 10_000, message: "backend not found" });
    const terminated = await sleeping;
    expect((terminated as { code?: string }).code).toBe("57P01");
    expect(isDatabaseUnavailable(terminated)).toBe(true);
    await client.end().catch(() => undefined);

    const busy = createPgPool({ connectionString: db.databaseUrl, max: 1, connectionTimeoutMillis: 200 }, "t_busy");
    const holder = await busy.connect();
    const timeoutErr = await busy.query("SELECT 1").catch((e: unknown) => e);
    holder.release();
    await busy.end();
    expect(isDatabaseUnavailable(timeoutErr)).toBe(true);
  });

  it("is false for errors of the statement itself, which stay what they are", async () => {
    const pool = createPgPool({ connectionString: db.databaseUrl }, "t_statement");
    try {
      for (const sql of ["SELEC 1", "SELECT * FROM no_such_table", "SELECT 1/0"]) {
        const err = await pool.query(sql).catch((e: unknown) => e);
        expect(isDatabaseUnavailable(err)).toBe(false);
        expect(asDatabaseUnavailable(err)).toBe(err);
      }
      const down = asDatabaseUnavailable(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" }));
      expect(down).toBeInstanceOf(AppError);
      expect(down).toMatchObject({ code: "UNAVAILABLE", status: 503 });
      expect((down as AppError).detail).not.toContain("127.0.0.1");
    } finally {
      await pool.end();
    }
  });
});
