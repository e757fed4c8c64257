import { isDatabaseUnavailable } from "@pragma/db";
import { PermanentError, RetryableError } from "@pragma/provider-sdk";

// SQLSTATE classes worth retrying: connection (08), resources (53), operator
// intervention (57, e.g. shutdown), rollback (40, deadlock/serialization), object in
// use (55, e.g. a database still has sessions). Everything else (syntax, privilege,
// data, missing catalog) fails the same way next time.
const RETRYABLE_PG_CLASSES = new Set(["08", "53", "57", "40", "55", "58", "XX"]);
// mysql/mariadb errnos that are about the moment, not the statement.
const RETRYABLE_MYSQL_ERRNOS = new Set([1040, 1053, 1205, 1213, 1317, 2002, 2003, 2006, 2013]);

// "Already exists" answers to a CREATE: duplicate object (42710), database (42P04), schema
// (42P06), table (42P07); mysql database (1007), table (1050), CREATE USER failed (1396).
const EXISTS_PG_CODES = new Set(["42710", "42P04", "42P06", "42P07"]);
const EXISTS_MYSQL_ERRNOS = new Set([1007, 1050]);

/**
 * The object a CREATE names appeared meanwhile: another worker, a killed worker's leftover
 * backend, or a person created it between our existence check (or IF NOT EXISTS) and our
 * insert. Postgres reports the race as 23505 on a catalog index (pg_authid_rolname_index,
 * pg_database_datname_index, pg_namespace_nspname_index, pg_extension_name_index) when
 * both transactions overlap, and as the duplicate-object code otherwise. Takes a driver
 * error or the classified error wrapping it.
 */
export function isAlreadyExists(err: unknown): boolean {
  const raw = (err instanceof PermanentError || err instanceof RetryableError ? err.cause : err) as
    | { code?: unknown; errno?: unknown; message?: unknown; schema?: unknown; constraint?: unknown; sqlState?: unknown }
    | undefined;
  if (!raw || typeof raw !== "object") return false;
  if (typeof raw.code === "string" && EXISTS_PG_CODES.has(raw.code)) return true;
  if (raw.code === "23505" && (raw.schema === "pg_catalog" || (typeof raw.constraint === "string" && raw.constraint.startsWith("pg_")))) return true;
  if (typeof raw.errno === "number" && typeof raw.sqlState === "string") {
    if (EXISTS_MYSQL_ERRNOS.has(raw.errno)) return true;
    // 1396 is also what ALTER/DROP USER of a missing user say: only CREATE USER's is a race.
    if (raw.errno === 1396 && typeof raw.message === "string" && raw.message.includes("CREATE USER")) return true;
  }
  return false;
}

/** Turns a driver error into the SDK's vocabulary so retry policy is decided once. */
export function classifySqlError(err: unknown, dbType: "postgres" | "mysql"): Error {
  if (err instanceof PermanentError || err instanceof RetryableError) return err;
  const e = err as { code?: unknown; errno?: unknown; message?: unknown; sqlState?: unknown };
  const message = `${dbType}: ${typeof e.message === "string" ? e.message : String(err)}`;
  const code = typeof e.code === "string" ? e.code : undefined;
  // A create that lost a race: the hooks adopt the object where they can; anywhere else a
  // retry finds it and takes the converge path, so it is never a reason to dead-letter.
  if (isAlreadyExists(err)) return new RetryableError(`${message} (created concurrently; retrying converges)`, { cause: err });
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
