import { AppError } from "@pragma/errors";
import { PermanentError, RetryableError } from "@pragma/provider-sdk";
import { mapDbError } from "../auto-api/errors";
import { classifySqlError, isAlreadyExists } from "./sql-errors";

const pgErr = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error("boom"), { code, ...extra });
const myErr = (errno: number, message: string) => Object.assign(new Error(message), { errno, sqlState: "HY000", code: "ER_X" });

describe("isAlreadyExists / classifySqlError: a create that lost a race is never permanent", () => {
  it.each([
    ["23505 on a catalog index", pgErr("23505", { schema: "pg_catalog", constraint: "pg_authid_rolname_index" })],
    ["duplicate object", pgErr("42710")],
    ["duplicate database", pgErr("42P04")],
    ["duplicate schema", pgErr("42P06")],
  ])("postgres %s is adopted or retried", (_, err) => {
    expect(isAlreadyExists(err)).toBe(true);
    const c = classifySqlError(err, "postgres");
    expect(c).toBeInstanceOf(RetryableError);
    expect(isAlreadyExists(c)).toBe(true);
  });

  it("keeps a unique violation on a user table permanent", () => {
    const err = pgErr("23505", { schema: "public", constraint: "users_email_key" });
    expect(isAlreadyExists(err)).toBe(false);
    expect(classifySqlError(err, "postgres")).toBeInstanceOf(PermanentError);
  });

  it("takes mysql 1007 and CREATE USER's 1396 as races, but not ALTER USER's 1396 (the user is missing)", () => {
    expect(classifySqlError(myErr(1007, "Can't create database 'x'; database exists"), "mysql")).toBeInstanceOf(RetryableError);
    expect(classifySqlError(myErr(1396, "Operation CREATE USER failed for 'u'@'%'"), "mysql")).toBeInstanceOf(RetryableError);
    expect(classifySqlError(myErr(1396, "Operation ALTER USER failed for 'u'@'%'"), "mysql")).toBeInstanceOf(PermanentError);
  });
});

const err = (fields: Record<string, unknown>, message = "boom") => Object.assign(new Error(message), fields);

// Connection-level failures are decided by @pragma/db's one rule; the rest stays per driver.
describe("worker SQL error classification", () => {
  it.each([
    ["refused", err({ code: "ECONNREFUSED" }), "postgres"],
    ["restart", err({ code: "57P01" }), "postgres"],
    ["pool checkout timeout", new Error("timeout exceeded when trying to connect"), "postgres"],
    ["mysql gone away", err({ errno: 2006, sqlState: "HY000" }), "mysql"],
    ["mysql2 connection lost", err({ code: "PROTOCOL_CONNECTION_LOST" }), "mysql"],
  ] as const)("a connection failure (%s) is retryable for hooks and 503 for the Auto API", (_what, e, dbType) => {
    expect(classifySqlError(e, dbType)).toBeInstanceOf(RetryableError);
    expect(mapDbError(e, [])).toMatchObject({ code: "UNAVAILABLE" });
  });

  it("statement errors keep their own classes", () => {
    expect(classifySqlError(err({ code: "42601" }), "postgres")).toBeInstanceOf(PermanentError);
    expect(classifySqlError(err({ errno: 1064, sqlState: "42000" }), "mysql")).toBeInstanceOf(PermanentError);
    const conflict = mapDbError(err({ code: "23505", constraint: "u" }), []) as AppError;
    expect(conflict.code).toBe("CONFLICT");
  });
});
