import { createTestEnv, waitFor, type TestEnv } from "@pragma/testing";
import { Observer, startTestWorker, work } from "./helpers";
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

  it("answers a CREATE with started then succeeded, outputs equal to the config", async () => {
    const w = work({ provider: "pragma", resource_type: "config", resource_name: "app", config: { region: "eu", replicas: 3 } });
    await bus.publish(w);
    const outcome = await bus.outcome(w.event_id);
    expect(outcome.kind).toBe("succeeded");
    expect(outcome.payload).toMatchObject({ event_id: w.event_id, resource_id: w.resource_id, event_type: "CREATE", outputs: { region: "eu", replicas: 3 } });
    const started = bus.of(w.event_id, "started");
    expect(started).toHaveLength(1);
    expect(started[0]!.at).toBeLessThanOrEqual(outcome.at);
    expect(started[0]!.payload.attempt).toBe(0);
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
});
