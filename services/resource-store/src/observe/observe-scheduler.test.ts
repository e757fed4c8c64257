import { OBSERVE } from "@pragma/contracts";
import { ObserveScheduler } from "./observe-scheduler";

describe("ObserveScheduler tiers", () => {
  const s = new ObserveScheduler({ publish: async () => undefined }, { tiersMs: [300_000, 60_000], defaultIntervalMs: 10_000 }, null as never);

  it("the default interval is always a tier; tiers sorted", () => {
    expect(s.tiers).toEqual([10_000, 60_000, 300_000]);
  });

  it("an interval waits in the longest tier not above it (the shortest when all are)", () => {
    expect(s.tierFor(60_000)).toBe(60_000);
    expect(s.tierFor(299_999)).toBe(60_000);
    expect(s.tierFor(3_600_000)).toBe(300_000);
    expect(s.tierFor(1_000)).toBe(10_000);
  });

  it("each tier is a TTL'd queue dead-lettering into pragma.observe, bound under its own name", () => {
    const t = s.topology();
    const q = t.queues.find((x) => x.name === OBSERVE.delayQueue(60_000))!;
    expect(q.arguments).toMatchObject({ "x-message-ttl": 60_000, "x-dead-letter-exchange": OBSERVE.exchange, "x-queue-type": "quorum" });
    expect(t.bindings).toContainEqual({ source: OBSERVE.delayExchange, destination: OBSERVE.delayQueue(60_000), routingKey: OBSERVE.delayQueue(60_000) });
  });
});
