import { randomBytes } from "node:crypto";
import { Client, escapeIdentifier } from "pg";
import { testInfraUrls } from "./infra";

export interface TestDatabase {
  /** Name of the fresh database, `t_<label>_<random>`. */
  database: string;
  databaseUrl: string;
  /** Drops the database, closing any connections the test left open. Idempotent. */
  dispose(): Promise<void>;
}

const MAX_IDENTIFIER = 63;

/** `t_<label>_<random>`, lowercase so it never needs quoting in psql, within Postgres' 63-byte limit. */
export function testDatabaseName(label = "test"): string {
  const random = randomBytes(6).toString("hex");
  const room = MAX_IDENTIFIER - "t__".length - random.length;
  const clean = label.toLowerCase().replace(/[^a-z0-9_]+/g, "_").replace(/^_+|_+$/g, "").slice(0, room) || "test";
  return `t_${clean}_${random}`;
}

function withDatabase(serverUrl: string, database: string): string {
  const u = new URL(serverUrl);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}

async function onServer<T>(serverUrl: string, fn: (client: Client) => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** A fresh, empty database on the test server, for tests that need PostgreSQL only. */
export async function createTestDatabase(label?: string): Promise<TestDatabase> {
  const serverUrl = testInfraUrls().databaseUrl;
  const database = testDatabaseName(label);
  await onServer(serverUrl, (c) => c.query(`CREATE DATABASE ${escapeIdentifier(database)}`));
  let disposed = false;
  return {
    database,
    databaseUrl: withDatabase(serverUrl, database),
    async dispose() {
      if (disposed) return;
      disposed = true;
      // FORCE: a pool the test forgot to end must not make cleanup fail (PostgreSQL 13+).
      await onServer(serverUrl, (c) => c.query(`DROP DATABASE IF EXISTS ${escapeIdentifier(database)} WITH (FORCE)`));
    },
  };
}
