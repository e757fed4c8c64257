import { Client, escapeIdentifier } from "pg";

const DUPLICATE_DATABASE = "42P04";
// Two concurrent CREATE DATABASE of one name can also surface as a unique violation on pg_database.
const UNIQUE_VIOLATION = "23505";

/** The database a connection URL names, or throws if it names none (pg would silently use the user name). */
export function databaseNameOf(databaseUrl: string): string {
  const name = decodeURIComponent(new URL(databaseUrl).pathname.replace(/^\//, ""));
  if (!name) throw new Error("database URL names no database (expected postgresql://user@host:port/<database>)");
  return name;
}

/** The same server and credentials, pointed at the `postgres` maintenance database. */
export function maintenanceUrlOf(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = "/postgres";
  return url.toString();
}

/**
 * Creates the database the URL names if it does not exist yet, so a service can start
 * against an empty server. Safe when several processes race to create it.
 */
export async function ensureDatabase(databaseUrl: string): Promise<{ created: boolean }> {
  const name = databaseNameOf(databaseUrl);
  const client = new Client({ connectionString: maintenanceUrlOf(databaseUrl), application_name: "pragma-migrate" });
  // The server going away between statements must fail the next one, not crash the process.
  client.on("error", () => undefined);
  await client.connect();
  try {
    const exists = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (exists.rowCount) return { created: false };
    try {
      await client.query(`CREATE DATABASE ${escapeIdentifier(name)}`);
      return { created: true };
    } catch (err) {
      const code = (err as { code?: unknown }).code;
      if (code === DUPLICATE_DATABASE || code === UNIQUE_VIOLATION) return { created: false };
      throw err;
    }
  } finally {
    await client.end();
  }
}
