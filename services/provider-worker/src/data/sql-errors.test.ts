import { AppError } from "@pragma/errors";
import { PermanentError, RetryableError } from "@pragma/provider-sdk";
import { mapDbError } from "../auto-api/errors";
import { classifySqlError } from "./sql-errors";

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
