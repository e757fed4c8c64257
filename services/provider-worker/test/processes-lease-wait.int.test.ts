import { WORK_DELIVERY_LIMIT, readAttemptHistory } from "@pragma/contracts";
import { createTestEnv, waitFor, type TestEnv } from "@pragma/testing";
import { Observer, work } from "./helpers";
import { testProvider } from "./fixtures/test-provider";
import { spawnWorker, stopWorker, type Child } from "./worker-process";

/**
 * Issue 27.5: a delivery waiting for another holder's lease must not spend the broker's
 * delivery budget, and the attempts an event records must be what happened.
 */
describe("worker processes: crashes while an event waits for a lease", () => {
  jest.setTimeout(240_000);
  let env: TestEnv;
  let bus: Observer;
  let tp: ReturnType<typeof testProvider>;
  const children: Child[] = [];

  beforeAll(async () => {
    env = await createTestEnv("worker-lease-wait");
    tp = testProvider(env.redisUrl, env.redisPrefix);
  });
  afterEach(async () => {
    await Promise.allSettled(children.splice(0).map(stopWorker));
  });
  afterAll(async () => {
    await bus?.close();
    await tp?.close();
    await env?.dispose();
  });

  const start = async (extra?: Record<string, string>) => {
    const c = await spawnWorker(env, extra);
    children.push(c);
    bus ??= await Observer.start(env);
    return c;
  };
  const executions = async (eventId: string, phase: string) => (await tp.executions()).filter((e) => e.event === eventId && e.phase === phase);

  it(`more kills than the delivery limit (${WORK_DELIVERY_LIMIT}) while an event waits for a live holder's lease: the event still ends ready, run once, not dead-lettered`, async () => {
    // The holder takes one event at a time, so the waiting event can only go to the victim.
    const holder = await start({ WORKER_CONCURRENCY: "1" });
    const first = work({ provider: "test", resource_type: "step", resource_name: "contended", config: { gate: "first", value: 1 } });
    await bus.publish(first);
    await waitFor(async () => bus.of(first.event_id, "started").length > 0, { timeoutMs: 30_000, message: "the holder to start the first event" });

    const second = work({ provider: "test", resource_type: "step", resource_name: "contended", event_type: "UPDATE", config: { value: 2 } });
    await bus.publish(second);
    const kills = WORK_DELIVERY_LIMIT + 3;
    for (let i = 0; i < kills; i++) {
      const victim = await start();
      // Long enough for the victim to take the waiting event (it is ready in the queue, or
      // back from the wait queue within its 200 ms).
      await new Promise((r) => setTimeout(r, 1500));
      victim.proc.kill("SIGKILL");
      expect(await victim.exited).toBe("SIGKILL");
    }
    // Nothing ran the second event while the first held the resource.
    expect(await executions(second.event_id, "start")).toHaveLength(0);
    expect(bus.deadLetters.filter((d) => d.payload.event_id === second.event_id)).toEqual([]);

    const last = await start();
    await tp.open("first");
    expect(await bus.outcome(first.event_id, 60_000)).toMatchObject({ kind: "succeeded", payload: { outputs: { value: 1, pid: holder.proc.pid } } });
    expect(await bus.outcome(second.event_id, 60_000)).toMatchObject({ kind: "succeeded", payload: { outputs: { value: 2, pid: last.proc.pid } } });
    // One run, reported as the first attempt: the waits and the kills were not attempts.
    expect(await executions(second.event_id, "start")).toHaveLength(1);
    expect(bus.of(second.event_id, "started").map((r) => r.payload.attempt)).toEqual([0]);
    expect(bus.deadLetters.filter((d) => d.payload.event_id === second.event_id)).toEqual([]);
  });

  it("a dead letter carries the attempt history: a run that crashed, then the run that failed", async () => {
    const a = await start();
    const w = work({ provider: "test", resource_type: "step", resource_name: "crash-then-fail", config: { crash_once: true, permanent: true, secret: "hunter2-secret" } });
    await bus.publish(w);
    expect(await a.exited).toBe("SIGKILL");
    await start({ ALIVE_TTL_MS: "1000" });
    const dl = await waitFor(async () => bus.deadLetters.find((d) => d.payload.event_id === w.event_id), { timeoutMs: 60_000, message: "the dead letter" });
    const history = readAttemptHistory(dl.headers);
    expect(history).toMatchObject({ runs: 2, retries: 0, crashed: 1 });
    expect(history!.attempts.map((x) => [x.attempt, x.outcome])).toEqual([
      [1, "crashed"],
      [2, "failed"],
    ]);
    expect(history!.attempts[1]!.error).toMatch(/^refused: credential/);
    expect(history!.lease_waits).toBeGreaterThanOrEqual(0);
    // Redacted: neither the event's sensitive value nor the URL's password.
    expect(JSON.stringify(dl.headers)).not.toMatch(/hunter2-secret|topsecret/);
    expect(bus.of(w.event_id, "started").map((r) => r.payload.attempt)).toEqual([0, 1]);
  });
});
