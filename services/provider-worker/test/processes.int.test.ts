import { WORK_DELIVERY_LIMIT, readAttemptHistory } from "@pragma/contracts";
import { createTestEnv, waitFor, type TestEnv } from "@pragma/testing";
import { Observer, work } from "./helpers";
import { testProvider } from "./fixtures/test-provider";
import { spawnWorker, stopWorker, type Child } from "./worker-process";

describe("worker processes: crashes, sharing, poison, per-resource exclusion", () => {
  jest.setTimeout(120_000);
  let env: TestEnv;
  let bus: Observer;
  let busStarting: Promise<Observer> | undefined;
  let tp: ReturnType<typeof testProvider>;
  const children: Child[] = [];

  beforeAll(async () => {
    env = await createTestEnv("worker-processes");
    tp = testProvider(env.redisUrl, env.redisPrefix);
  });
  // A test that fails midway must not leave its workers consuming the next test's events.
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
    // Memoised as a promise: two workers started together must share one observer,
    // or the two would split the results queue between them.
    busStarting ??= Observer.start(env).then((o) => (bus = o));
    await busStarting;
    return c;
  };
  const executions = async (eventId: string, phase: string) => (await tp.executions()).filter((e) => e.event === eventId && e.phase === phase);

  it("a worker killed with SIGKILL mid-hook: the event is redelivered and ends ready exactly once", async () => {
    const a = await start();
    const w = work({ provider: "test", resource_type: "step", resource_name: "crashy", config: { crash_once: true, value: "v" } });
    await bus.publish(w);
    expect(await a.exited).toBe("SIGKILL");
    const b = await start();
    const outcome = await bus.outcome(w.event_id, 60_000);
    expect(outcome).toMatchObject({ kind: "succeeded", payload: { outputs: { value: "v", pid: b.proc.pid } } });
    expect((await executions(w.event_id, "start")).length).toBe(2);
    expect((await executions(w.event_id, "end")).length).toBe(1);
    // The redelivery's attempt counts the crash.
    expect(bus.of(w.event_id, "started").map((r) => r.payload.attempt)).toEqual([0, 1]);
    await stopWorker(b);
  });

  it("two worker processes share 200 events, each handled once", async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const events = Array.from({ length: 200 }, (_, i) => work({ provider: "test", resource_type: "step", resource_name: `share-${i}`, config: { ms: 20, value: i } }));
    await Promise.all(events.map((e) => bus.publish(e)));
    await waitFor(async () => events.every((e) => bus.of(e.event_id, "succeeded").length > 0), { timeoutMs: 60_000, message: "all 200 results" });
    const ends = (await tp.executions()).filter((e) => e.phase === "end" && events.some((w) => w.event_id === e.event));
    expect(ends).toHaveLength(200);
    expect(new Set(ends.map((e) => e.event)).size).toBe(200);
    const byPid = new Map<number, number>();
    for (const e of ends) byPid.set(e.pid, (byPid.get(e.pid) ?? 0) + 1);
    expect([...byPid.keys()].sort()).toEqual([a.proc.pid, b.proc.pid].sort());
    for (const n of byPid.values()) expect(n).toBeGreaterThan(20);
    await Promise.all([stopWorker(a), stopWorker(b)]);
  });

  it("100 resources x 5 updates with two workers: one event per resource at a time, in order, final state is the last update", async () => {
    const [a, b] = await Promise.all([start(), start()]);
    // Emulates the store's guarantee (the next event for a resource is written only
    // after the previous one's result): five chains interleaved across two workers.
    const chain = async (r: number) => {
      for (let v = 1; v <= 5; v++) {
        const w = work({ provider: "test", resource_type: "step", resource_name: `ordered-${r}`, event_type: v === 1 ? "CREATE" : "UPDATE", config: { ms: 5, value: v } });
        await bus.publish(w);
        await bus.outcome(w.event_id, 60_000);
      }
    };
    await Promise.all(Array.from({ length: 100 }, (_, r) => chain(r)));
    const exec = (await tp.executions()).filter((e) => e.resource.includes("_ordered-") && e.phase === "end");
    expect(exec).toHaveLength(500);
    for (let r = 0; r < 100; r++) {
      const values = exec.filter((e) => e.resource.endsWith(`_ordered-${r}`)).map((e) => e.value);
      expect(values).toEqual([1, 2, 3, 4, 5]);
    }
    expect(new Set(exec.map((e) => e.pid)).size).toBe(2);
    expect((await tp.overlaps()).filter((r) => r.includes("_ordered-"))).toEqual([]);
    await Promise.all([stopWorker(a), stopWorker(b)]);
  });

  it("same resource's events published all at once still never overlap across two workers", async () => {
    const [a, b] = await Promise.all([start(), start()]);
    const events = Array.from({ length: 20 }, (_, r) => Array.from({ length: 5 }, (_, v) => work({ provider: "test", resource_type: "step", resource_name: `burst-${r}`, event_type: "UPDATE", config: { ms: 30, value: v } }))).flat();
    await Promise.all(events.map((e) => bus.publish(e)));
    await waitFor(async () => events.every((e) => bus.of(e.event_id, "succeeded").length > 0), { timeoutMs: 60_000, message: "all burst results" });
    // (the crash test's killed hook never decremented its own counter, so look at these resources only)
    expect((await tp.overlaps()).filter((r) => r.includes("_burst-"))).toEqual([]);
    await Promise.all([stopWorker(a), stopWorker(b)]);
  });

  it("a poison event that kills every worker is dead-lettered after the delivery limit while other work flows", async () => {
    // Each crash leaves a lease the next worker may take once the dead one's liveness key
    // expires: a short liveness keeps the loop quick.
    const supervised = { ALIVE_TTL_MS: "1000" };
    let current = await start(supervised);
    let restarts = 0;
    let supervising = true;
    // A supervisor, like a process manager: restart the worker whenever it dies.
    const supervise = (async () => {
      while (supervising) {
        const how = await current.exited;
        if (!supervising || how !== "SIGKILL") break;
        restarts++;
        // The poison can kill a fresh worker before it reports ready (its lease is free at
        // once when the dead holder's liveness has expired meanwhile): that is one more crash.
        for (;;) {
          try {
            current = await start(supervised);
            break;
          } catch (err) {
            if (!/exited before it was ready \(SIGKILL\)/.test(String(err)) || !supervising) throw err;
            restarts++;
          }
        }
      }
    })();
    const poison = work({ provider: "test", resource_type: "step", resource_name: "poison", config: { crash: true } });
    await bus.publish(poison);
    // Healthy neighbours: a crash kills those running beside the poison, but never often
    // enough to dead-letter them (a suspect runs alone: crash-isolation.ts).
    const healthy = Array.from({ length: 20 }, (_, i) => work({ provider: "test", resource_type: "step", resource_name: `fine-${i}`, config: { value: i } }));
    for (const h of healthy) await bus.publish(h);
    const dl = await waitFor(async () => bus.deadLetters.find((d) => d.payload.event_id === poison.event_id), { timeoutMs: 180_000, intervalMs: 200, message: "the poison event dead-lettered" });
    // Each crash leaves the dead replica's lease, so the next delivery waits (a fresh copy)
    // until it expires: the worker's own count of crashed runs ends the loop, not the broker's.
    expect(dl.headers["x-dead-letter-reason"]).toBe("delivery_limit");
    expect(readAttemptHistory(dl.headers)).toMatchObject({ runs: WORK_DELIVERY_LIMIT, crashed: WORK_DELIVERY_LIMIT, retries: 0 });
    expect((await tp.executions()).filter((e) => e.event === poison.event_id && e.phase === "start")).toHaveLength(WORK_DELIVERY_LIMIT);
    await waitFor(async () => healthy.every((h) => bus.of(h.event_id, "succeeded").length > 0), { timeoutMs: 60_000, message: "healthy events" });
    expect(bus.deadLetters.filter((d) => healthy.some((h) => h.event_id === d.payload.event_id))).toEqual([]);
    expect(restarts).toBeGreaterThanOrEqual(5);
    expect(bus.of(poison.event_id, "succeeded")).toHaveLength(0);
    supervising = false;
    await stopWorker(current);
    await supervise;
  }, 300_000);
});
