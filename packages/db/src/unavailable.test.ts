import { AppError } from "@pragma/errors";
import { answerDatabaseOutages, asDatabaseUnavailable, holdOnDatabaseOutage, isDatabaseUnavailable } from "./unavailable";

const err = (fields: Record<string, unknown>, message = "x") => Object.assign(new Error(message), fields);

describe("isDatabaseUnavailable", () => {
  it.each([
    ["a refused socket", err({ code: "ECONNREFUSED", syscall: "connect", errno: -111 })],
    ["admin shutdown (restart)", err({ code: "57P01", severity: "FATAL" })],
    ["crash shutdown", err({ code: "57P02" })],
    ["starting up", err({ code: "57P03" })],
    ["a connection exception class 08", err({ code: "08006" })],
    ["too many connections", err({ code: "53300" })],
    ["pg's uncoded connection end", new Error("Connection terminated unexpectedly")],
    ["pg-pool's checkout timeout", new Error("timeout exceeded when trying to connect")],
    ["a dead client reused", new Error("Client has encountered a connection error and is not queryable")],
    ["Prisma can't reach the server", err({ code: "P1001", clientVersion: "7" })],
    ["Prisma: server closed the connection", err({ code: "P1017" })],
    ["Prisma: pool timeout", err({ code: "P2024" })],
    ["the pg adapter's mapped error in meta", err({ code: "P2010", meta: { driverAdapterError: err({ cause: { kind: "DatabaseNotReachable" } }) } })],
    ["the pg adapter's raw postgres error", err({ cause: { kind: "postgres", originalCode: "57P01" } })],
    ["a cause chain", new Error("wrapped", { cause: err({ code: "ECONNRESET" }) })],
    ["pg's AggregateError over addresses", Object.assign(new AggregateError([err({ code: "ECONNREFUSED" })], "all failed"))],
    ["mysql: gone away", err({ errno: 2006, sqlState: "HY000", code: "ER_SERVER_GONE" })],
    ["mysql2: connection lost", err({ code: "PROTOCOL_CONNECTION_LOST" })],
  ])("is true for %s", (_what, e) => {
    expect(isDatabaseUnavailable(e)).toBe(true);
  });

  it.each([
    ["a syntax error", err({ code: "42601" })],
    ["a unique violation", err({ code: "23505" })],
    ["a Prisma unique violation", err({ code: "P2002" })],
    ["a statement timeout", err({ code: "57014" })],
    ["a mysql duplicate key", err({ errno: 1062, sqlState: "23000" })],
    ["a plain bug", new TypeError("cannot read properties of undefined")],
    ["not an error", "ECONNREFUSED"],
    ["null", null],
  ])("is false for %s", (_what, e) => {
    expect(isDatabaseUnavailable(e)).toBe(false);
  });

  it("does not loop on a self-referencing cause", () => {
    const e = new Error("loop") as Error & { cause?: unknown };
    e.cause = e;
    expect(isDatabaseUnavailable(e)).toBe(false);
  });
});

describe("asDatabaseUnavailable / answerDatabaseOutages", () => {
  it("turns an outage into UNAVAILABLE naming postgres, never the driver's message, and leaves other errors alone", async () => {
    const outage = err({ code: "ECONNREFUSED" }, "connect ECONNREFUSED 10.0.0.5:5432");
    const mapped = asDatabaseUnavailable(outage) as AppError;
    expect(mapped).toBeInstanceOf(AppError);
    expect(mapped.code).toBe("UNAVAILABLE");
    expect(mapped.detail).toMatch(/postgres/);
    expect(JSON.stringify(mapped.toJSON())).not.toContain("10.0.0.5");
    const notFound = new AppError("NOT_FOUND", "no");
    expect(asDatabaseUnavailable(notFound)).toBe(notFound);

    const contract = { type: "x" };
    const handlers = answerDatabaseOutages({
      down: { contract, handle: async () => Promise.reject(outage) },
      bug: { contract, handle: async () => Promise.reject(new TypeError("bug")) },
      ok: { contract, handle: async (n: number) => n + 1 },
    });
    await expect(handlers.down.handle()).rejects.toMatchObject({ code: "UNAVAILABLE" });
    await expect(handlers.bug.handle()).rejects.toBeInstanceOf(TypeError);
    await expect(handlers.ok.handle(1)).resolves.toBe(2);
    expect(handlers.ok.contract).toBe(contract);
  });
});

describe("holdOnDatabaseOutage", () => {
  it("pauses before rethrowing an outage, rethrows anything else at once, and passes results through", async () => {
    jest.useFakeTimers();
    try {
      const outage = err({ code: "57P03" });
      let settled = false;
      const held = holdOnDatabaseOutage(() => Promise.reject(outage), 1_000).catch((e: unknown) => {
        settled = true;
        return e;
      });
      await jest.advanceTimersByTimeAsync(999);
      expect(settled).toBe(false);
      await jest.advanceTimersByTimeAsync(1);
      expect(await held).toBe(outage);
    } finally {
      jest.useRealTimers();
    }
    const bug = new TypeError("bug");
    await expect(holdOnDatabaseOutage(() => Promise.reject(bug), 60_000)).rejects.toBe(bug);
    await expect(holdOnDatabaseOutage(async () => 7)).resolves.toBe(7);
  });
});
