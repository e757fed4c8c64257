import { CRASHED_RUN_ERROR, historyAfter, noRun, runsOf } from "./attempts";
import type { WorkCopy } from "./ports";

const T = (n: number) => `2026-01-01T00:00:0${n}.000Z`;
const fresh: WorkCopy = { retryCount: 0, leaseWaits: 0, history: null, deliveryCount: 0 };

describe("attempts: runs, crashes and the history a copy carries", () => {
  it("a first run: number 1, nothing crashed", () => {
    const runs = runsOf(fresh, [T(1)], T(1));
    expect(runs).toMatchObject({ run: 1, ran: true, startedAt: T(1), crashed: 0, attempts: [] });
    expect(historyAfter(runs, 0, "failed", "boom")).toEqual({ runs: 1, retries: 0, crashed: 0, lease_waits: 0, attempts: [{ attempt: 1, at: T(1), outcome: "failed", error: "boom" }] });
  });

  it("runs the history does not list crashed; lease waits and deliveries are not runs", () => {
    const copy: WorkCopy = { retryCount: 1, leaseWaits: 7, deliveryCount: 4, history: { runs: 1, retries: 1, crashed: 0, lease_waits: 2, attempts: [{ attempt: 1, at: T(1), outcome: "retried", error: "transient" }] } };
    const runs = runsOf(copy, [T(1), T(2), T(3)], T(3));
    expect(runs.run).toBe(3);
    expect(runs.crashed).toBe(1);
    expect(runs.attempts.map((a) => [a.attempt, a.outcome, a.at])).toEqual([
      [1, "retried", T(1)],
      [2, "crashed", T(2)],
    ]);
    expect(runs.attempts[1]!.error).toBe(CRASHED_RUN_ERROR);
    expect(historyAfter(runs, 2, "retried", "again")).toMatchObject({ runs: 3, retries: 2, crashed: 1, lease_waits: 7 });
  });

  it("start times lost from Redis: the carried history still numbers the run", () => {
    const copy: WorkCopy = { ...fresh, retryCount: 2, history: { runs: 2, retries: 2, crashed: 0, lease_waits: 0, attempts: [1, 2].map((n) => ({ attempt: n, at: T(n), outcome: "retried" as const, error: "x" })) } };
    expect(runsOf(copy, [T(5)], T(5))).toMatchObject({ run: 3, crashed: 0, startedAt: T(5) });
  });

  it("no run (unknown type, crash loop): the history gains no entry", () => {
    const runs = noRun(fresh, T(1));
    expect(historyAfter(runs, 0, "failed", "unknown type")).toEqual({ runs: 0, retries: 0, crashed: 0, lease_waits: 0, attempts: [] });
  });

  it("keeps an attempt's error short", () => {
    const h = historyAfter(runsOf(fresh, [T(1)], T(1)), 0, "failed", "e".repeat(5000));
    expect(h.attempts[0]!.error.length).toBe(1000);
  });
});
