import { attemptCountFromHeaders, attemptsFromHeaders, attemptsFromXDeath, classifyReason, errorFromHeaders } from "./classify";

const death = (reason: string, secs = 1_700_000_000) => ({ "x-death": [{ reason, queue: "work.postgres", count: 1, time: { "!": "timestamp", value: secs } }] });

describe("dead-letter header classification", () => {
  it("maps the worker's markers", () => {
    expect(classifyReason({ "x-dead-letter-reason": "permanent_error", "x-permanent-error": true })).toBe("permanent_error");
    expect(classifyReason({ "x-permanent-error": true })).toBe("permanent_error");
    expect(classifyReason({ "x-dead-letter-reason": "retries_exhausted", "x-permanent-error": false })).toBe("rejected");
    expect(classifyReason({ "x-dead-letter-reason": "delivery_limit" })).toBe("delivery_limit");
  });

  it("maps the broker's x-death reasons, most recent first", () => {
    expect(classifyReason(death("delivery_limit"))).toBe("delivery_limit");
    expect(classifyReason(death("expired"))).toBe("expired");
    expect(classifyReason(death("rejected"))).toBe("rejected");
    expect(classifyReason(death("maxlen"))).toBe("rejected");
    expect(classifyReason({ "x-death": [{ reason: "delivery_limit" }, { reason: "expired" }] })).toBe("delivery_limit");
    expect(classifyReason({})).toBe("rejected");
  });

  it("counts attempts: the first try plus retries, or the broker's deliveries", () => {
    expect(attemptCountFromHeaders({ "x-dead-letter-reason": "permanent_error", "x-retry-count": 0 })).toBe(1);
    expect(attemptCountFromHeaders({ "x-dead-letter-reason": "retries_exhausted", "x-retry-count": 3 })).toBe(4);
    expect(attemptCountFromHeaders({ ...death("delivery_limit"), "x-delivery-count": 5 })).toBe(5);
    expect(attemptCountFromHeaders({ ...death("delivery_limit"), "x-delivery-count": 5, "x-retry-count": 1, "x-prior-deliveries": 2 })).toBe(8);
    expect(attemptCountFromHeaders(death("rejected"))).toBe(1);
  });

  it("explains broker dead letters and keeps the worker's message", () => {
    expect(errorFromHeaders({ "x-error-message": "boom" })).toBe("boom");
    expect(errorFromHeaders(death("delivery_limit"))).toMatch(/^delivery limit reached in work.postgres/);
    expect(attemptsFromXDeath(death("expired", 1_700_000_000))).toEqual([{ at: "2023-11-14T22:13:20.000Z", error: "expired in work.postgres" }]);
  });

  it("reads the attempts from the worker's x-attempt-history, not from its log", () => {
    const at = (n: number) => `2026-01-01T00:00:0${n}.000Z`;
    const history = {
      runs: 3,
      retries: 1,
      crashed: 1,
      lease_waits: 9,
      attempts: [
        { attempt: 1, at: at(1), outcome: "retried", error: "transient" },
        { attempt: 2, at: at(2), outcome: "crashed", error: "the worker stopped" },
        { attempt: 3, at: at(3), outcome: "failed", error: "final" },
      ],
    };
    const h = { "x-retry-count": 1, "x-dead-letter-reason": "retries_exhausted", "x-attempt-history": JSON.stringify(history) };
    // Runs, not deliveries or lease waits.
    expect(attemptCountFromHeaders(h)).toBe(3);
    expect(attemptsFromHeaders(h, new Date(at(4)), "final")).toEqual([
      { at: at(1), error: "transient" },
      { at: at(2), error: "the worker stopped" },
      { at: at(3), error: "final" },
    ]);
    // The broker dead-lettered a later copy: its failure comes last.
    const carried = { ...history, attempts: history.attempts.slice(0, 1), runs: 1, crashed: 0 };
    expect(attemptsFromHeaders({ ...death("delivery_limit"), "x-attempt-history": JSON.stringify(carried) }, new Date(at(5)), "delivery limit reached")).toEqual([
      { at: at(1), error: "transient" },
      { at: at(5), error: "delivery limit reached" },
    ]);
    // No history (an older worker's copy): x-death and the final failure, as before.
    expect(attemptsFromHeaders(death("delivery_limit"), new Date(at(6)), "boom")).toEqual([{ at: at(6), error: "boom" }]);
    expect(attemptsFromHeaders({ "x-attempt-history": "{not json" }, new Date(at(6)), "boom")).toEqual([{ at: at(6), error: "boom" }]);
  });
});
