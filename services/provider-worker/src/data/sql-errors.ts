import { isDatabaseUnavailable } from "@pragma/db";
import { PermanentError, RetryableError } from "@pragma/provider-sdk";

// SQLSTATE classes worth retrying: connection (08), resources (53), operator
// intervention (57, e.g. shutdown), rollback (40, deadlock/serialization), object in
// use (55, e.g. a database still has sessions). Everything else (syntax, privilege,
// data, missing catalog) fails the same way next time.
const RETRYABLE_PG_CLASSES = new Set(["08", "53", "57", "40", "55", "58", "XX"]);
// mysql/mariadb errnos that are about the moment, not the statement.
const RETRYABLE_MYSQL_ERRNOS = new Set([1040, 1053, 1205, 1213, 1317, 2002, 2003, 2006, 2013]);

/** Turns a driver error into the SDK's vocabulary so retry policy is decided once. */
export function classifySqlError(err: unknown, dbType: "postgres" | "mysql"): Error {
  if (err instanceof PermanentError || err instanceof RetryableError) return err;
  const e = err as { code?: unknown; errno?: unknown; message?: unknown; sqlState?: unknown };
  const message = `${dbType}: ${typeof e.message === "string" ? e.message : String(err)}`;
  const code = typeof e.code === "string" ? e.code : undefined;
  // Connection-level failures (the one rule in @pragma/db) are about the moment.
  if (isDatabaseUnavailable(err)) return new RetryableError(message, { cause: err });
  if (dbType === "postgres" && code && /^[0-9A-Z]{5}$/.test(code)) {
    return RETRYABLE_PG_CLASSES.has(code.slice(0, 2)) ? new RetryableError(message, { cause: err }) : new PermanentError(message, { cause: err });
  }
  if (dbType === "mysql" && typeof e.errno === "number" && typeof e.sqlState === "string") {
    return RETRYABLE_MYSQL_ERRNOS.has(e.errno) ? new RetryableError(message, { cause: err }) : new PermanentError(message, { cause: err });
  }
  // Pool timeouts and anything unrecognised: assume the moment, not the statement.
  return new RetryableError(message, { cause: err });
}
