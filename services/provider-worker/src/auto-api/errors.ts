import { isDatabaseUnavailable } from "@pragma/db";
import { AppError } from "@pragma/errors";
import { redactText } from "@pragma/provider-sdk";

/** The database said a name we used does not exist: the schema changed under the cached copy. */
export class SchemaDrift extends Error {}

const MYSQL_CONNECT_ERRNOS = new Set([1040, 1044, 1045, 1049, 1129, 1130, 2002, 2003, 2005, 2006, 2013]);

function constraintFromMysql(message: string): string {
  return /CONSTRAINT `([^`]+)`/.exec(message)?.[1] ?? /for key '([^']+)'/.exec(message)?.[1] ?? "unknown";
}

/**
 * A driver error as the §7 status: unique/foreign key 409 naming the constraint, a bad value
 * 422 naming the column where the database says it, statement timeout 504, unreachable 503.
 * Anything else is the database's own failure (502), its message scrubbed of secrets.
 */
export function mapDbError(err: unknown, secrets: string[]): Error {
  if (err instanceof AppError || err instanceof SchemaDrift) return err;
  const e = (err ?? {}) as { code?: unknown; errno?: unknown; message?: unknown; constraint?: unknown; column?: unknown; table?: unknown; sqlMessage?: unknown; detail?: unknown };
  const message = redactText(typeof e.message === "string" ? e.message : String(err), secrets);
  const code = typeof e.code === "string" ? e.code : "";
  if (isDatabaseUnavailable(err) || /Pool is closed/i.test(message)) {
    return new AppError("UNAVAILABLE", `database unreachable: ${message}`);
  }
  if (typeof e.errno === "number" && typeof e.sqlMessage === "string") return mapMysql(e.errno, redactText(e.sqlMessage, secrets), message);
  if (/^[0-9A-Z]{5}$/.test(code)) return mapPostgres(code, message, e);
  return new AppError("UPSTREAM_ERROR", `database error: ${message}`);
}

function mapPostgres(code: string, message: string, e: { constraint?: unknown; column?: unknown; detail?: unknown }): Error {
  const constraint = typeof e.constraint === "string" ? e.constraint : "unknown";
  switch (code) {
    case "23505":
      return new AppError("CONFLICT", `unique violation on constraint ${constraint}: ${message}`);
    case "23503":
      return new AppError("CONFLICT", `foreign key violation on constraint ${constraint}: ${message}`);
    case "23502":
      return new AppError("VALIDATION_FAILED", [{ loc: ["body", typeof e.column === "string" ? e.column : "unknown"], msg: message, type: "not_null_violation" }]);
    case "23514":
      return new AppError("VALIDATION_FAILED", [{ loc: ["body", constraint], msg: `check constraint ${constraint} failed: ${message}`, type: "check_violation" }]);
    case "57014":
      return new AppError("TIMEOUT", "statement timeout: the query took longer than the worker allows");
    case "42703":
    case "42P01":
      return new SchemaDrift(message);
    case "42501":
      return new AppError("FORBIDDEN", `the registered database user may not do this: ${message}`);
    case "25006":
      return new AppError("CONFLICT", `the database is read-only: ${message}`);
    case "40001":
    case "40P01":
      return new AppError("CONFLICT", `concurrent update, retry: ${message}`);
  }
  // Class 22 is data exceptions (out of range, invalid text for the type), 23 other integrity, 2F/42 statements the caller's values shaped.
  if (code.startsWith("22") || code.startsWith("23")) return new AppError("VALIDATION_FAILED", [{ loc: ["body"], msg: message, type: "value_error" }]);
  if (code.startsWith("08") || code.startsWith("53") || code.startsWith("57") || code === "28P01" || code === "28000" || code === "3D000") {
    return new AppError("UNAVAILABLE", `database unreachable: ${message}`);
  }
  return new AppError("UPSTREAM_ERROR", `database error: ${message}`);
}

function mapMysql(errno: number, sqlMessage: string, message: string): Error {
  switch (errno) {
    case 1062:
      return new AppError("CONFLICT", `unique violation on constraint ${constraintFromMysql(sqlMessage)}: ${sqlMessage}`);
    case 1451:
    case 1452:
    case 1216:
    case 1217:
      return new AppError("CONFLICT", `foreign key violation on constraint ${constraintFromMysql(sqlMessage)}: ${sqlMessage}`);
    case 1048:
    case 1364: {
      const col = /(?:Column|Field) '([^']+)'/.exec(sqlMessage)?.[1] ?? "unknown";
      return new AppError("VALIDATION_FAILED", [{ loc: ["body", col], msg: sqlMessage, type: "not_null_violation" }]);
    }
    case 3819:
    case 4025:
      return new AppError("VALIDATION_FAILED", [{ loc: ["body", constraintFromMysql(sqlMessage)], msg: sqlMessage, type: "check_violation" }]);
    case 1969: // MariaDB ER_STATEMENT_TIMEOUT
    case 3024: // MySQL ER_QUERY_TIMEOUT
      return new AppError("TIMEOUT", "statement timeout: the query took longer than the worker allows");
    case 1054:
    case 1146:
      return new SchemaDrift(sqlMessage);
    case 1142:
    case 1143:
      return new AppError("FORBIDDEN", `the registered database user may not do this: ${sqlMessage}`);
    case 1213:
    case 1205:
      return new AppError("CONFLICT", `concurrent update, retry: ${sqlMessage}`);
  }
  if (MYSQL_CONNECT_ERRNOS.has(errno)) return new AppError("UNAVAILABLE", `database unreachable: ${message}`);
  // 1264 out of range, 1265/1366 incorrect value, 1292 bad datetime, 1406 too long, 1367 illegal value, 4078 bad JSON ...
  if ([1264, 1265, 1292, 1366, 1367, 1406, 1411, 3140, 4038, 4078, 1690].includes(errno)) {
    const col = /column '([^']+)'/i.exec(sqlMessage)?.[1];
    return new AppError("VALIDATION_FAILED", [{ loc: col ? ["body", col] : ["body"], msg: sqlMessage, type: "value_error" }]);
  }
  return new AppError("UPSTREAM_ERROR", `database error: ${sqlMessage}`);
}
