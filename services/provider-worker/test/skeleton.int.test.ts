import { Redis } from "ioredis";
import { createTestEnv, waitFor, type TestEnv } from "@pragma/testing";
import { RPC_QUEUES } from "@pragma/contracts";
import { Observer, startTestProviderRig, startTestWorker, work, type TestProviderRig, isSealed, opened } from "./helpers";
import { workerRequests } from "@pragma/contracts";
import type { RunningWorker } from "../src/service";

describe("walking skeleton: pragma/config through the worker", () => {
  let env: TestEnv;
  let worker: RunningWorker;
  let bus: Observer;

  beforeAll(async () => {
    env = await createTestEnv("worker-skeleton");
    ({ worker } = await startTestWorker(env, { PROVIDERS: "pragma" }));
    bus = await Observer.start(env);
  });
  afterAll(async () => {
    await bus?.close();
    await worker?.stop();
    await env?.dispose();
  });

  it("answers a quick CREATE with its outcome alone, outputs equal to the config", async () => {
    const w = work({ provider: "pragma", resource_type: "config", resource_name: "app", config: { region: "eu", replicas: 3 } });
    // Every command the worker sent to Redis with this event's resource-log lines (MONITOR
    // also shows the commands a script runs; those are not round trips).
    const client = new Redis(env.redisUrl);
    const monitor = await client.monitor();
    const logCommands: string[][] = [];
    monitor.on("monitor", (_time: string, args: string[]) => {
      if (/^eval/i.test(args[0] ?? "") && args.some((a) => a.includes(w.event_id) && a.includes('"message"'))) logCommands.push(args);
    });
    try {
      await bus.publish(w);
      const outcome = await bus.outcome(w.event_id);
      expect(outcome.kind).toBe("succeeded");
      expect(outcome.payload).toMatchObject({ event_id: w.event_id, resource_id: w.resource_id, event_type: "CREATE", outputs: { region: "eu", replicas: 3 } });
      // Done well within STARTED_REPORT_DELAY_MS (50 ms): no "started" report, one message less,
      // and its two log lines go to Redis in one command, "started" with its own (earlier) time.
      await new Promise((r) => setTimeout(r, 200));
      expect(bus.of(w.event_id, "started")).toHaveLength(0);
      expect(logCommands).toHaveLength(1);
      const lines = logCommands[0]!.filter((a) => a.includes('"message"')).map((a) => JSON.parse(a) as { at: string; message: string });
      expect(lines.map((l) => l.message)).toEqual(["CREATE started", "CREATE succeeded"]);
      expect(lines[0]!.at <= lines[1]!.at).toBe(true);
    } finally {
      monitor.disconnect();
      client.disconnect();
    }
  });

  it("sends the results it finishes together as one message, each with its own ids", async () => {
    const events = Array.from({ length: 16 }, (_, i) => work({ provider: "pragma", resource_type: "config", resource_name: `together-${i}`, config: { i } }));
    const messagesBefore = bus.resultMessages;
    await Promise.all(events.map((w) => bus.publish(w)));
    const outcomes = await Promise.all(events.map((w) => bus.outcome(w.event_id)));
    outcomes.forEach((o, i) => {
      expect(o).toMatchObject({ kind: "succeeded", messageId: `${events[i]!.event_id}:succeeded`, correlationId: bus.correlationOf(events[i]!.event_id) });
      expect(o.payload).toMatchObject({ event_id: events[i]!.event_id, outputs: { i } });
    });
    // The worker takes up to WORKER_CONCURRENCY (32 by default) at once, and their Redis replies come
    // back together: fewer messages than results.
    expect(bus.resultMessages - messagesBefore).toBeLessThan(events.length);
  });

  it("answers an unknown resource type with a permanent failure and a dead letter", async () => {
    const w = work({ provider: "pragma", resource_type: "nope", resource_name: "x" });
    await bus.publish(w);
    const outcome = await bus.outcome(w.event_id);
    expect(outcome).toMatchObject({ kind: "failed", payload: { permanent: true } });
    expect(outcome.payload.error).toMatch(/unknown resource type pragma\/nope/);
    const dl = await waitFor(async () => bus.deadLetters.find((d) => d.payload.event_id === w.event_id), { message: "the dead letter" });
    expect(dl.headers).toMatchObject({ "x-permanent-error": true, "x-dead-letter-reason": "permanent_error" });
    expect(String(dl.headers["x-error-message"])).toMatch(/unknown resource type/);
  });

  it("serves rpc.provider-worker: type definitions, the resource's log, and NOT_FOUND for a type without a health check", async () => {
    const { types } = await bus.broker.request(RPC_QUEUES.providerWorker, workerRequests.listTypes, { provider: "pragma" });
    expect(types.map((t) => t.resource)).toEqual(["config", "random", "secret"]);
    const secret = types.find((t) => t.resource === "secret")!;
    expect((secret.schema.properties as any).value).toMatchObject({ "x-sensitive": true, writeOnly: true });
    expect(secret.sensitive_outputs).toEqual(["value"]);

    const w = work({ provider: "pragma", resource_type: "config", resource_name: "logged", config: { a: 1 } });
    await bus.publish(w);
    await bus.outcome(w.event_id);
    const inspected = { org_id: w.org_id, project_id: w.project_id, space_id: w.space_id, resource_id: w.resource_id, provider: "pragma", resource_type: "config", resource_name: "logged", config: w.config, outputs: { a: 1 } };
    const logs = await waitFor(async () => {
      const r = await bus.broker.request(RPC_QUEUES.providerWorker, workerRequests.logs, { ...inspected, tail: 10 });
      return r.lines.length >= 2 && r;
    });
    expect(logs.lines.map((l) => l.message)).toEqual(["CREATE started", "CREATE succeeded"]);
    await expect(bus.broker.request(RPC_QUEUES.providerWorker, workerRequests.health, inspected)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("keeps a random value across an UPDATE with the same config and regenerates it when the length changes", async () => {
    const create = work({ provider: "pragma", resource_type: "random", resource_name: "pw", config: { length: 24 } });
    await bus.publish(create);
    // The value leaves the worker sealed; the UPDATEs get it back sealed, as the store sends it.
    const first = (await bus.outcome(create.event_id)).payload.outputs as { value: string };
    expect(isSealed(first.value)).toBe(true);
    expect(opened(first).value).toHaveLength(24);
    const same = work({ provider: "pragma", resource_type: "random", resource_name: "pw", event_type: "UPDATE", config: { length: 24 }, previous_config: { length: 24 }, outputs: first });
    await bus.publish(same);
    expect(opened((await bus.outcome(same.event_id)).payload.outputs)).toMatchObject({ value: opened(first).value });
    const longer = work({ provider: "pragma", resource_type: "random", resource_name: "pw", event_type: "UPDATE", config: { length: 40 }, previous_config: { length: 24 }, outputs: first });
    await bus.publish(longer);
    expect(opened((await bus.outcome(longer.event_id)).payload.outputs as { value: string }).value).toHaveLength(40);
  });
});

describe("the started report: sent only for a hook still running after STARTED_REPORT_DELAY_MS", () => {
  let rig: TestProviderRig;
  let bus: Observer;

  beforeAll(async () => {
    rig = await startTestProviderRig("worker-started", { STARTED_REPORT_DELAY_MS: "100" });
    bus = rig.bus;
  });
  afterAll(() => rig?.close());

  it("reports started, before the outcome, for a hook that outlives the delay", async () => {
    const w = work({ provider: "test", resource_type: "step", resource_name: "slow", config: { ms: 600, value: "v" } });
    const t0 = Date.now();
    await bus.publish(w);
    const outcome = await bus.outcome(w.event_id);
    expect(outcome).toMatchObject({ kind: "succeeded", payload: { outputs: { value: "v" } } });
    const started = bus.of(w.event_id, "started");
    expect(started).toHaveLength(1);
    expect(started[0]!.payload.attempt).toBe(0);
    // Sent while the hook ran: after the delay, well before the outcome.
    expect(started[0]!.at - t0).toBeGreaterThanOrEqual(100);
    expect(outcome.at - started[0]!.at).toBeGreaterThanOrEqual(300);
  });

  it("sends no started for a hook that ends within the delay, nor for one that fails within it", async () => {
    const quick = work({ provider: "test", resource_type: "step", resource_name: "quick", config: { value: "q" } });
    const broken = work({ provider: "test", resource_type: "step", resource_name: "broken", config: { permanent: true } });
    await bus.publish(quick);
    await bus.publish(broken);
    expect(await bus.outcome(quick.event_id)).toMatchObject({ kind: "succeeded" });
    expect(await bus.outcome(broken.event_id)).toMatchObject({ kind: "failed" });
    await new Promise((r) => setTimeout(r, 300));
    expect(bus.of(quick.event_id, "started")).toHaveLength(0);
    expect(bus.of(broken.event_id, "started")).toHaveLength(0);
  });
});
