import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { ensureDatabase } from "@pragma/db";
import { testInfraUrls } from "@pragma/testing";

const server = testInfraUrls().databaseUrl;
const created: string[] = [];

function urlFor(database: string): string {
  const u = new URL(server);
  u.pathname = `/${database}`;
  return u.toString();
}

async function onServer<T>(fn: (c: Client) => Promise<T>): Promise<T> {
  const c = new Client({ connectionString: server });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const exists = (name: string) => onServer(async (c) => ((await c.query("SELECT 1 FROM pg_database WHERE datname = $1", [name])).rowCount ?? 0) > 0);

function freshName(): string {
  const name = `t_ensure_db_${randomBytes(6).toString("hex")}`;
  created.push(name);
  return name;
}

afterAll(async () => {
  await onServer(async (c) => {
    for (const name of created) await c.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  });
});

describe("ensureDatabase", () => {
  it("creates a missing database, then leaves it alone", async () => {
    const name = freshName();
    expect(await exists(name)).toBe(false);

    expect(await ensureDatabase(urlFor(name))).toEqual({ created: true });
    expect(await exists(name)).toBe(true);
    expect(await ensureDatabase(urlFor(name))).toEqual({ created: false });
  });

  it("tolerates several processes creating the same database at once", async () => {
    const name = freshName();
    const results = await Promise.all(Array.from({ length: 5 }, () => ensureDatabase(urlFor(name))));

    expect(await exists(name)).toBe(true);
    expect(results.filter((r) => r.created)).toHaveLength(1);
  });

  it("refuses a URL that names no database", async () => {
    const u = new URL(server);
    u.pathname = "";
    await expect(ensureDatabase(u.toString())).rejects.toThrow(/names no database/);
  });
});
