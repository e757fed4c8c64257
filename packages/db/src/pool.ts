import { Pool, type PoolConfig } from "pg";

/** The subset of a pino logger the pool needs, so this package does not depend on pino. */
export interface PoolLogger {
  warn(obj: Record<string, unknown>, msg: string): void;
}

/** The code of a driver error (57P01, ECONNRESET, ...), never its message: messages may name hosts and users. */
export function errorCode(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "UNKNOWN";
}

/**
 * Makes a pool survive its server going away (a restart, failover or pg_terminate_backend
 * ends every session, 57P01). Without a listener Node turns node-postgres's 'error' event
 * into an uncaught exception and the process exits. Two places emit it:
 * - the pool, for an idle client: the pool has already dropped it;
 * - a checked-out client between queries (a transaction waiting on other work, a
 *   connection held across a publish), where pg-pool listens no more: the holder's next
 *   query fails ("not queryable", classified as unavailable) and pg-pool discards a client
 *   in that state when it is released.
 * Each lost connection is logged once, by its client's listener (the code only: messages
 * may name hosts and users); the next checkout opens a fresh connection, and fails fast as
 * "database unavailable" while the server is still down. Applied to every pool a service
 * opens (createPgPool).
 */
export function survivePoolErrors(pool: Pool, name: string, logger?: PoolLogger): Pool {
  // Every client also has the listener below, which has logged it.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => {
    client.on("error", (err) => logger?.warn({ pool: name, code: errorCode(err) }, "database connection lost; the pool opens a new one"));
  });
  return pool;
}

/**
 * node-postgres waits for a connection forever by default: a database host that stops
 * answering (rather than refusing) would hold every request until the caller's own timeout.
 * Bounded, the wait ends as "database unavailable" (503) instead.
 */
export const DEFAULT_CONNECT_TIMEOUT_MS = 10_000;

/** A node-postgres pool with survivePoolErrors applied: how services open their pools. */
export function createPgPool(config: PoolConfig, name: string, logger?: PoolLogger): Pool {
  return survivePoolErrors(new Pool({ application_name: name, connectionTimeoutMillis: DEFAULT_CONNECT_TIMEOUT_MS, ...config }), name, logger);
}
