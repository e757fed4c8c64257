import { decideEntry, decideFailure, type EntryFacts } from "./decide";

const policy = { tiersMs: [1000, 10000, 60000], maxRetries: 3, deliveryLimit: 5 };

describe("decideEntry: what a delivery does before any hook runs", () => {
  it.each<[string, EntryFacts, ReturnType<typeof decideEntry>]>([
    ["an unknown type is dead-lettered as permanent, without a run", { state: "unknown-type" }, { action: "dead-letter", reason: "permanent_error" }],
    ["a completed event replays its outcome", { state: "done" }, { action: "replay" }],
    ["a busy resource is waited for in the first tier", { state: "busy" }, { action: "wait", delayMs: 1000 }],
    ["a first run runs", { state: "entered", crashedRuns: 0 }, { action: "run" }],
    ["runs again after fewer crashes than the limit", { state: "entered", crashedRuns: 4 }, { action: "run" }],
    ["a crash loop (limit reached) is dead-lettered, not run", { state: "entered", crashedRuns: 5 }, { action: "dead-letter", reason: "delivery_limit" }],
  ])("%s", (_name, facts, decision) => {
    expect(decideEntry(facts, policy)).toEqual(decision);
  });

  it("waiting never depends on how often the event waited or was delivered", () => {
    expect(decideEntry({ state: "busy" }, { ...policy, deliveryLimit: 0 })).toEqual({ action: "wait", delayMs: 1000 });
  });

  it("with no tiers configured, waits a second", () => {
    expect(decideEntry({ state: "busy" }, { ...policy, tiersMs: [] })).toEqual({ action: "wait", delayMs: 1000 });
  });
});

describe("decideFailure: what a failed run leads to", () => {
  it.each([
    [false, 0, { action: "retry", retryCount: 1, delayMs: 1000 }],
    [false, 1, { action: "retry", retryCount: 2, delayMs: 10000 }],
    [false, 2, { action: "retry", retryCount: 3, delayMs: 60000 }],
    [false, 3, { action: "dead-letter", reason: "retries_exhausted" }],
    [true, 0, { action: "dead-letter", reason: "permanent_error" }],
    [true, 3, { action: "dead-letter", reason: "permanent_error" }],
  ])("permanent %s after %i retries", (permanent, retryCount, decision) => {
    expect(decideFailure({ permanent, retryCount }, policy)).toEqual(decision);
  });

  it("the last tier repeats when there are more retries than tiers", () => {
    expect(decideFailure({ permanent: false, retryCount: 4 }, { ...policy, maxRetries: 10 })).toEqual({ action: "retry", retryCount: 5, delayMs: 60000 });
  });

  it("no retries allowed: the first transient failure is dead-lettered", () => {
    expect(decideFailure({ permanent: false, retryCount: 0 }, { ...policy, maxRetries: 0 })).toEqual({ action: "dead-letter", reason: "retries_exhausted" });
  });
});
