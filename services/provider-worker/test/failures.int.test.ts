import { waitFor } from "@pragma/testing";
import { Observer, startTestProviderRig, work, type TestProviderRig } from "./helpers";
import type { testProvider } from "./fixtures/test-provider";
import type { CapturedLogs } from "@pragma/testing";

describe("failure policy: retry tiers, permanent errors, dedupe, per-resource lease", () => {
  let logs: CapturedLogs;
  let bus: Observer;
  let tp: ReturnType<typeof testProvider>;

  let rig: TestProviderRig;

  beforeAll(async () => {
    rig = await startTestProviderRig("worker-failures", { RETRY_TIERS_MS: "200,400,800", MAX_RETRIES: "3", STARTED_REPORT_DELAY_MS: "0" });
    ({ logs, bus, tp } = rig);
  });
  afterAll(() => rig?.close());

  const runs = async (eventId: string, phase = "start") => (await tp.executions()).filter((e) => e.event === eventId && e.phase === phase).length;

  it("retries a transient error through the delay tiers and ends ready", async () => {
    const w = work({ provider: "test", resource_type: "step", resource_name: "flaky", config: { fail_times: 2, value: "ok" } });
    const t0 = Date.now();
    await bus.publish(w);
    const outcome = await bus.outcome(w.event_id);
    expect(outcome).toMatchObject({ kind: "succeeded", payload: { outputs: { value: "ok" } } });
    // Waited in the 200 ms then the 400 ms tier.
    expect(outcome.at - t0).toBeGreaterThanOrEqual(550);
    expect(bus.of(w.event_id, "started").map((r) => r.payload.attempt)).toEqual([0, 1, 2]);
    expect(await runs(w.event_id)).toBe(3);
    expect(bus.of(w.event_id, "failed")).toHaveLength(0);
  });

  it("dead-letters with a failed result once the retries are used up", async () => {
    const w = work({ provider: "test", resource_type: "step", resource_name: "hopeless", config: { fail_times: 99 } });
    await bus.publish(w);
    const outcome = await bus.outcome(w.event_id, 20_000);
    expect(outcome).toMatchObject({ kind: "failed", payload: { permanent: false, error: "transient failure" } });
    expect(await runs(w.event_id)).toBe(4); // first attempt + MAX_RETRIES
    const dl = await waitFor(async () => bus.deadLetters.find((d) => d.payload.event_id === w.event_id), { message: "dead letter" });
    expect(dl.headers).toMatchObject({ "x-retry-count": 3, "x-permanent-error": false, "x-dead-letter-reason": "retries_exhausted" });
  });

  it("fails a permanent error at once, dead-letters it, and keeps secrets out of the result and the dead letter", async () => {
    const w = work({ provider: "test", resource_type: "step", resource_name: "refused", config: { permanent: true, secret: "sup3r-s3cret-value" } });
    await bus.publish(w);
    const outcome = await bus.outcome(w.event_id);
    expect(outcome).toMatchObject({ kind: "failed", payload: { permanent: true } });
    expect(await runs(w.event_id)).toBe(1);
    const dl = await waitFor(async () => bus.deadLetters.find((d) => d.payload.event_id === w.event_id), { message: "dead letter" });
    expect(dl.headers).toMatchObject({ "x-permanent-error": true, "x-dead-letter-reason": "permanent_error", "x-retry-count": 0 });
    for (const text of [outcome.payload.error as string, String(dl.headers["x-error-message"]), logs.text()]) {
      expect(text).toContain("[REDACTED]");
      expect(text).not.toContain("sup3r-s3cret-value");
      expect(text).not.toContain("topsecret");
    }
  });

  it("republishes a completed event's result instead of running it again", async () => {
    const w = work({ provider: "test", resource_type: "step", resource_name: "once", config: { value: 1 } });
    await bus.publish(w);
    const first = await bus.outcome(w.event_id);
    await bus.publish(w);
    await waitFor(async () => bus.of(w.event_id, "succeeded").length === 2, { message: "the second result" });
    expect(await runs(w.event_id)).toBe(1);
    expect(bus.of(w.event_id, "succeeded")[1]!.payload).toEqual(first.payload);
  });

  it("never runs two copies of one resource's event at once: the second waits for the lease, then dedupes", async () => {
    const w = work({ provider: "test", resource_type: "step", resource_name: "dup", config: { ms: 600, value: "x" } });
    await Promise.all([bus.publish(w), bus.publish(w)]);
    await waitFor(async () => bus.of(w.event_id, "succeeded").length === 2, { timeoutMs: 10_000, message: "both copies answered" });
    expect(await runs(w.event_id)).toBe(1);
    expect(await tp.overlaps()).toEqual([]);
  });
});
