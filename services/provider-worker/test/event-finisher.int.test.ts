import { Redis } from "ioredis";
import { createTestEnv, type TestEnv } from "@pragma/testing";
import { redisDedupe } from "../src/data/dedupe.repository";
import { redisEventFinisher } from "../src/data/event-finisher";
import { redisLocks } from "../src/data/resource-lock";
import { redisResourceLog } from "../src/data/resource-log.repository";

describe("finishing an event in one Redis command (outcome, log lines, lease)", () => {
  let env: TestEnv;
  let redis: Redis;

  beforeAll(async () => {
    env = await createTestEnv("worker-event-finisher");
    redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 2 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await env?.dispose();
  });

  const setup = (instanceId: string) => {
    const dedupe = redisDedupe(redis, env.redisPrefix, 60);
    const log = redisResourceLog(redis, env.redisPrefix, 3, 60);
    const locks = redisLocks(redis, { prefix: env.redisPrefix, instanceId, ttlMs: 5_000, aliveTtlMs: 2_000, runsTtlSecs: 60, onLost: () => undefined });
    return { dedupe, log, locks, finisher: redisEventFinisher(redis, dedupe, log, 60) };
  };
  const keys = (dedupe: ReturnType<typeof redisDedupe>, id: string) => ({ done: dedupe.keyOf(id), runs: dedupe.runsKeyOf(id) });
  const line = (message: string) => ({ at: "2026-01-01T00:00:00.000Z", level: "info" as const, message });
  const outcome = { kind: "succeeded" as const, payload: { event_id: "e1", outputs: { a: 1 } } };

  it("stores the outcome (what enter() then finds), appends the lines capped, and frees the resource", async () => {
    const { dedupe, log, locks, finisher } = setup("w1");
    const entered = await locks.enter("r1", "e1", keys(dedupe, "e1"));
    expect("lease" in entered && entered.runs).toEqual([]);
    const lease = (entered as { lease: Parameters<typeof finisher.finish>[4] }).lease;
    await log.append("r1", line("old 1"), line("old 2"));
    await finisher.finish("e1", outcome, "r1", [line("started"), line("succeeded")], lease);

    expect(await dedupe.get("e1")).toEqual(outcome);
    expect((await redis.ttl(dedupe.keyOf("e1"))) > 50).toBe(true);
    expect((await log.tail("r1", 10)).map((l) => l.message)).toEqual(["old 2", "started", "succeeded"]);
    expect(lease.held).toBe(false);
    // Free: the next event takes the lease at once; and e1's redelivery finds its outcome.
    const next = await locks.enter("r1", "e2", keys(dedupe, "e2"));
    expect("lease" in next).toBe(true);
    await (next as { lease: { release(): Promise<void> } }).lease.release();
    const again = await locks.enter("r1", "e1", keys(dedupe, "e1"));
    expect("done" in again && dedupe.decode(again.done)).toEqual(outcome);
  });

  it("does not release a lease another holder has taken over", async () => {
    const { dedupe, locks, finisher } = setup("w1");
    const entered = await locks.enter("r2", "e3", keys(dedupe, "e3"));
    const lease = (entered as { lease: Parameters<typeof finisher.finish>[4] }).lease;
    // As if this replica had been judged dead and another took the resource over.
    await redis.set(lease.key, "w2|e4", "PX", 5_000);
    await finisher.finish("e3", outcome, "r2", [line("succeeded")], lease);
    expect(await redis.get(lease.key)).toBe("w2|e4");
    expect(await dedupe.get("e3")).toEqual(outcome);
  });
});

describe("entering a resource: the outcome, the lease and the event's runs in one script", () => {
  let env: TestEnv;
  let redis: Redis;
  beforeAll(async () => {
    env = await createTestEnv("worker-enter");
    redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 2 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await env?.dispose();
  });

  it("records a first run with the lease, and only a first one; a recorded run can be taken back", async () => {
    const dedupe = redisDedupe(redis, env.redisPrefix, 60);
    const locks = redisLocks(redis, { prefix: env.redisPrefix, instanceId: "w1", ttlMs: 5_000, aliveTtlMs: 2_000, runsTtlSecs: 60, onLost: () => undefined });
    const keys = { done: dedupe.keyOf("e1"), runs: dedupe.runsKeyOf("e1") };
    const first = await locks.enter("r1", "e1", keys, "t1");
    expect("lease" in first && { runs: first.runs, recorded: first.recorded }).toEqual({ runs: [], recorded: true });
    // Held: another event of the resource is busy, and records nothing.
    expect(await locks.enter("r1", "e2", { done: dedupe.keyOf("e2"), runs: dedupe.runsKeyOf("e2") }, "t1")).toEqual({ busy: true });
    expect(await redis.llen(dedupe.runsKeyOf("e2"))).toBe(0);
    await (first as { lease: { release(): Promise<void> } }).lease.release();
    // Not a first run any more: read, not recorded (the caller records it when its hook starts).
    const second = await locks.enter("r1", "e1", keys, "t2");
    expect("lease" in second && { runs: second.runs, recorded: second.recorded }).toEqual({ runs: ["t1"], recorded: false });
    await dedupe.recordRun("e1", "t2");
    await dedupe.unrecordRun("e1", "t2");
    expect(await redis.lrange(dedupe.runsKeyOf("e1"), 0, -1)).toEqual(["t1"]);
    expect(await redis.ttl(dedupe.runsKeyOf("e1"))).toBeGreaterThan(50);
    await (second as { lease: { release(): Promise<void> } }).lease.release();
  });
});
