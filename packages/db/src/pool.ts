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
 * ends every session, 57P01). Without listeners Node turns node-postgres's 'error' events
 * into an uncaught exception and the process exits; there are two:
 * - on the pool, for an idle client: the pool has already dropped it;
 * - on a checked-out client between queries (a transaction waiting on other work, a
 *   connection held across a publish): the holder's next query fails ("not queryable"), and
 *   pg-pool discards a client in that state when it is released.
 * So logging (the code only) is all that is left to do; the next checkout opens a fresh
 * connection, and fails fast as "database unavailable" while the server is still down.
 * Applied to every pool a service opens (createPgPool).
 */
export function survivePoolErrors(pool: Pool, name: string, logger?: PoolLogger): Pool {
  pool.on("error", (err) => logger?.warn({ pool: name, code: errorCode(err) }, "idle database connection lost; it was dropped from the pool"));
  pool.on("connect", (client) => {
    client.on("error", (err) => logger?.warn({ pool: name, code: errorCode(err) }, "database connection lost while checked out; it is discarded on release"));
  });
  return pool;
}

/** A node-postgres pool with survivePoolErrors applied: how services open their pools. */
export function createPgPool(config: PoolConfig, name: string, logger?: PoolLogger): Pool {
  return survivePoolErrors(new Pool({ application_name: name, ...config }), name, logger);
}
