import { AppError } from "@pragma/errors";

/**
 * Which database failures mean "the database cannot be reached right now" rather than
 * "this statement is wrong": the one classification every service uses, so a PostgreSQL
 * (or MySQL) outage answers 503 with Retry-After at the edge instead of 500, and a
 * consumer retries instead of dead-lettering.
 */

// Socket-level failures (node), and mysql2's own connection codes.
const NODE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
]);
// SQLSTATE: 57P01 admin shutdown, 57P02 crash shutdown, 57P03 cannot connect now (starting
// up / shutting down), 53300 too many connections; class 08 is connection exceptions.
const PG_CODES = new Set(["57P01", "57P02", "57P03", "53300"]);
// Prisma: P1001 can't reach server, P1002 server timed out, P1008 socket timeout, P1017 server
// closed the connection, P2024 timed out waiting for a pooled connection, P2037 too many connections.
const PRISMA_CODES = new Set(["P1001", "P1002", "P1008", "P1017", "P2024", "P2037"]);
// @prisma/adapter-pg's mapped driver errors (meta.driverAdapterError.cause.kind).
const ADAPTER_KINDS = new Set(["DatabaseNotReachable", "ConnectionClosed", "SocketTimeout", "TooManyConnections"]);
// mysql errnos: too many connections, server shutdown, can't connect, gone away, lost connection.
const MYSQL_ERRNOS = new Set([1040, 1053, 2002, 2003, 2006, 2013]);
// node-postgres reports these without a code.
const PG_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated unexpectedly|Connection terminated due to connection timeout|Client has encountered a connection error and is not queryable|terminating connection due to administrator command|the database system is (starting up|shutting down|in recovery mode)/i;

export function isDatabaseUnavailable(err: unknown, depth = 0): boolean {
  if (typeof err !== "object" || err === null || depth > 5) return false;
  const e = err as { code?: unknown; errno?: unknown; message?: unknown; kind?: unknown; cause?: unknown; meta?: unknown; errors?: unknown };
  const code = typeof e.code === "string" ? e.code : undefined;
  if (code && (NODE_CODES.has(code) || PG_CODES.has(code) || PRISMA_CODES.has(code) || /^08[0-9A-Z]{3}$/.test(code))) return true;
  // A Prisma-wrapped adapter error keeps the original SQLSTATE as originalCode.
  const original = (e as { originalCode?: unknown }).originalCode;
  if (typeof original === "string" && (PG_CODES.has(original) || /^08[0-9A-Z]{3}$/.test(original))) return true;
  if (typeof e.kind === "string" && ADAPTER_KINDS.has(e.kind)) return true;
  if (typeof e.errno === "number" && MYSQL_ERRNOS.has(e.errno) && (e as { sqlState?: unknown }).sqlState !== undefined) return true;
  if (typeof e.message === "string" && PG_MESSAGES.test(e.message)) return true;
  const adapter = (e.meta as { driverAdapterError?: unknown } | undefined)?.driverAdapterError;
  if (adapter && isDatabaseUnavailable(adapter, depth + 1)) return true;
  // AggregateError (pg tries every address of a host name) and chained causes.
  if (Array.isArray(e.errors) && e.errors.some((x) => isDatabaseUnavailable(x, depth + 1))) return true;
  return e.cause !== undefined && e.cause !== err && isDatabaseUnavailable(e.cause, depth + 1);
}

/** What clients are told: the dependency by name, never the driver's message (it may name hosts and users). */
export const DATABASE_UNAVAILABLE_DETAIL = "The database (postgres) is unavailable; retry shortly";

/** `err` as the UNAVAILABLE AppError when it is a connection-level database failure, else `err` itself. */
export function asDatabaseUnavailable(err: unknown): unknown {
  if (err instanceof AppError) return err;
  return isDatabaseUnavailable(err) ? new AppError("UNAVAILABLE", DATABASE_UNAVAILABLE_DETAIL, { cause: err }) : err;
}

type Handler = { handle: (...args: never[]) => Promise<unknown> };

/**
 * An RPC handler table whose handlers answer UNAVAILABLE (503 at the gateway, with
 * Retry-After) when the database cannot be reached, instead of an unclassified error the
 * server reports as INTERNAL. Wrap a service's whole table once, where it is served.
 */
export function answerDatabaseOutages<T extends Record<string, Handler>>(handlers: T): T {
  const out: Record<string, Handler> = {};
  for (const [type, h] of Object.entries(handlers)) {
    out[type] = {
      ...h,
      handle: (async (...args: never[]) => {
        try {
          return await h.handle(...args);
        } catch (err) {
          throw asDatabaseUnavailable(err);
        }
      }) as Handler["handle"],
    };
  }
  return out as T;
}

/** How long a consumer holds a message it could not record because the database is down. */
export const DATABASE_DOWN_REQUEUE_DELAY_MS = 1_000;

/**
 * Runs a consumer's handler; when it fails because the database is down, waits a moment
 * before rethrowing (the consumer then requeues). The store's queues have no delivery
 * limit, so a requeued message comes straight back: without the pause an outage is a busy
 * loop over the prefetched messages. Nothing is dropped either way.
 */
export async function holdOnDatabaseOutage<T>(fn: () => Promise<T>, delayMs = DATABASE_DOWN_REQUEUE_DELAY_MS): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (isDatabaseUnavailable(err)) await new Promise((r) => setTimeout(r, delayMs));
    throw err;
  }
}
