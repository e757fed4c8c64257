import { createTestEnv, type TestEnv } from "@pragma/testing";
import { createLogger } from "@pragma/logger";
import { connectBroker, MessageValidationError, type Broker } from "@pragma/messaging";
import { newId } from "@pragma/ids";
import { resultPublisher, type ResultToPublish } from "../src/amqp/result-publisher";
import { Observer, TENANT } from "./helpers";

/** The worker's result publisher against the real broker, seen from a queue bound like the store's. */
describe("result publisher", () => {
  let env: TestEnv;
  let broker: Broker;
  let bus: Observer;

  beforeAll(async () => {
    env = await createTestEnv("worker-result-publisher");
    bus = await Observer.start(env, { deadLetters: false });
    broker = await connectBroker({ url: env.amqpUrl, logger: createLogger({ service: "test-publisher", level: "silent" }), connectionName: "test-publisher" });
  });
  afterAll(async () => {
    await broker?.close();
    await bus?.close();
    await env?.dispose();
  });

  const succeeded = (eventId = newId("event")): ResultToPublish => ({
    kind: "succeeded",
    payload: { event_id: eventId, resource_id: `resource:pragma_config_${eventId}`, ...TENANT, at: new Date().toISOString(), event_type: "CREATE", outputs: { eventId } },
    messageId: `${eventId}:succeeded`,
    correlationId: newId("request"),
    headers: { "x-org-id": TENANT.org_id },
  });
  const until = async (n: number) => {
    for (let i = 0; i < 200 && bus.results.length < n; i++) await new Promise((r) => setTimeout(r, 25));
  };

  it("one turn's results go as one message, in order; a lone one as its own message; more than the cap as several", async () => {
    const publish = resultPublisher(broker, 4);
    const first = [succeeded(), succeeded(), succeeded()];
    await Promise.all(first.map(publish));
    await until(3);
    expect(bus.resultMessages).toBe(1);
    expect(bus.results.map((r) => [r.messageId, r.correlationId, r.payload.event_id])).toEqual(first.map((r) => [r.messageId, r.correlationId, r.payload.event_id]));

    await publish(succeeded());
    await until(4);
    expect(bus.resultMessages).toBe(2);

    const many = Array.from({ length: 9 }, () => succeeded());
    await Promise.all(many.map(publish));
    await until(13);
    // 9 with a cap of 4: 4 + 4 + 1.
    expect(bus.resultMessages).toBe(5);
    expect(bus.results.slice(4).map((r) => r.payload.event_id)).toEqual(many.map((r) => r.payload.event_id));
  });

  it("a batch over the byte cap is split until it fits: a big result goes alone, small ones still share", async () => {
    const publish = resultPublisher(broker, 64, 4096);
    const before = { results: bus.results.length, messages: bus.resultMessages };
    const big = succeeded();
    (big.payload.outputs as Record<string, unknown>).blob = "x".repeat(5000);
    const turn = [succeeded(), succeeded(), big, succeeded(), succeeded()];
    await Promise.all(turn.map(publish));
    await until(before.results + 5);
    // Five is too large: [s, s, big] + [s, s]; [s, s, big] is too large: [s, s] + [big].
    expect(bus.resultMessages - before.messages).toBe(3);
    expect(bus.results.slice(before.results).map((r) => r.payload.event_id).sort()).toEqual(turn.map((r) => r.payload.event_id).sort());
    expect(bus.results.slice(before.results).find((r) => r.payload.event_id === big.payload.event_id)?.payload.outputs.blob).toHaveLength(5000);
  });

  it("a result that fails its contract fails alone: the rest of its turn is still published", async () => {
    const publish = resultPublisher(broker);
    const before = bus.results.length;
    const good = [succeeded(), succeeded()];
    const bad = succeeded();
    delete (bad.payload as Record<string, unknown>).outputs;
    const settled = await Promise.allSettled([publish(good[0]!), publish(bad), publish(good[1]!)]);
    expect(settled.map((s) => s.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
    expect((settled[1] as PromiseRejectedResult).reason).toBeInstanceOf(MessageValidationError);
    await until(before + 2);
    await new Promise((r) => setTimeout(r, 200));
    expect(bus.results.slice(before).map((r) => r.payload.event_id)).toEqual(good.map((r) => r.payload.event_id));
  });

  it("when the broker is gone, every result of the turn fails (each event is then requeued)", async () => {
    const gone = await connectBroker({ url: env.amqpUrl, logger: createLogger({ service: "test-publisher", level: "silent" }), connectionName: "test-publisher-gone" });
    await gone.close();
    const publish = resultPublisher(gone);
    const settled = await Promise.allSettled([publish(succeeded()), publish(succeeded())]);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected"]);
  });
});
