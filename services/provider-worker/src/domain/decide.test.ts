import { decideEntry, decideFailure, type EntryFacts } from "./decide";

const policy = { tiersMs: [1000, 10000, 60000], maxRetries: 3, deliveryLimit: 5, isolationWaits: 30 };
const alone = { neighbours: "none" as const, waits: 0 };

describe("decideEntry: what a delivery does before any hook runs", () => {
  it.each<[string, EntryFacts, ReturnType<typeof decideEntry>]>([
    ["an unknown type is dead-lettered as permanent, without a run", { state: "unknown-type" }, { action: "dead-letter", reason: "permanent_error" }],
    ["a completed event replays its outcome", { state: "done" }, { action: "replay" }],
    ["a busy resource is waited for in the first tier", { state: "busy" }, { action: "wait", delayMs: 1000 }],
    ["a first run runs", { state: "entered", crashedRuns: 0, ...alone }, { action: "run" }],
    ["a first run runs beside others", { state: "entered", crashedRuns: 0, neighbours: "others", waits: 0 }, { action: "run" }],
    ["runs again after fewer crashes than the limit", { state: "entered", crashedRuns: 4, ...alone }, { action: "run" }],
    ["a crash loop (limit reached) is dead-lettered, not run", { state: "entered", crashedRuns: 5, ...alone }, { action: "dead-letter", reason: "delivery_limit" }],
    ["nothing starts beside a suspect", { state: "entered", crashedRuns: 0, neighbours: "suspect", waits: 0 }, { action: "wait", delayMs: 1000 }],
    ["a suspect does not start beside others", { state: "entered", crashedRuns: 1, neighbours: "others", waits: 3 }, { action: "wait", delayMs: 1000 }],
    ["a suspect that waited isolationWaits times runs beside others", { state: "entered", crashedRuns: 1, neighbours: "others", waits: 30 }, { action: "run" }],
    ["a suspect runs alone", { state: "entered", crashedRuns: 2, ...alone }, { action: "run" }],
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
