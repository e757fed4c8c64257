import { Client } from "pg";
import { createConnection } from "mysql2/promise";
import type { DatabaseEntry } from "@pragma/contracts";
import type { DatabaseProbe } from "../domain/ports";

type Entry = DatabaseEntry & { password: string };

/**
 * ?verify=true: opens one real connection per entry with the driver the workers
 * use, bounded by the entry's connect_timeout_secs, and reports the driver's reason.
 */
export class DriverDatabaseProbe implements DatabaseProbe {
  async check(entry: Entry): Promise<string | null> {
    const timeoutMs = entry.connect_timeout_secs * 1000;
    let timer: NodeJS.Timeout | undefined;
    // The drivers' own timeouts cover the TCP connect; this also bounds a server that accepts and then stalls.
    const deadline = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`timed out after ${entry.connect_timeout_secs}s`), timeoutMs + 250);
    });
    try {
      const reason = await Promise.race([entry.db_type === "postgres" ? checkPostgres(entry, timeoutMs) : checkMysql(entry, timeoutMs), deadline]);
      return reason === null ? null : scrub(reason, entry.password);
    } finally {
      clearTimeout(timer);
    }
  }
}

async function checkPostgres(e: Entry, timeoutMs: number): Promise<string | null> {
  const client = new Client({
    host: e.host,
    port: Number(e.port),
    user: e.username,
    password: e.password,
    database: e.db_name,
    connectionTimeoutMillis: timeoutMs,
    application_name: "pragma-registry-verify",
  });
  // A failed or late connection may still emit 'error'; unhandled it would crash the process.
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return null;
  } catch (err) {
    return reasonOf(err);
  } finally {
    client.end().catch(() => undefined);
  }
}

async function checkMysql(e: Entry, timeoutMs: number): Promise<string | null> {
  let conn: Awaited<ReturnType<typeof createConnection>> | undefined;
  try {
    conn = await createConnection({ host: e.host, port: Number(e.port), user: e.username, password: e.password, database: e.db_name, connectTimeout: timeoutMs });
    conn.on("error", () => undefined);
    await conn.query("SELECT 1");
    return null;
  } catch (err) {
    return reasonOf(err);
  } finally {
    conn?.end().catch(() => undefined);
  }
}

function reasonOf(err: unknown): string {
  if (err instanceof AggregateError && err.errors.length > 0) return err.errors.map(reasonOf).join("; ");
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    const msg = err.message || (typeof code === "string" ? code : err.name);
    return typeof code === "string" && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(err);
}

/** Drivers do not echo passwords today; this keeps it so if one ever starts. */
function scrub(reason: string, password: string): string {
  return password.length >= 1 ? reason.split(password).join("[REDACTED]") : reason;
}
