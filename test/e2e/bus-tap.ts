/**
 * The test's own connection to the system's broker: a tap on the work exchange (every
 * event the store publishes, counted per resource) and a way to publish worker results
 * by hand, for the states a real provider is not asked to reach on cue.
 */
import { EXCHANGES, providerResults, resourceWork, type ResourceWork } from "@pragma/contracts";
import { newUlid } from "@pragma/ids";
import { createLogger } from "@pragma/logger";
import { connectBroker, type Broker } from "@pragma/messaging";

export interface BusTap {
  broker: Broker;
  events: ResourceWork[];
  eventsFor(resourceId: string): ResourceWork[];
  publishResult(kind: "started" | "succeeded" | "failed", r: { event_id: string; resource_id: string; org_id: string; project_id: string; space_id: string }, extra?: Record<string, unknown>): Promise<void>;
  close(): Promise<void>;
}

export async function tapBus(amqpUrl: string, providers = ["pragma", "postgres", "mysql"]): Promise<BusTap> {
  const broker = await connectBroker({ url: amqpUrl, logger: createLogger({ service: "test-tap", level: "silent" }), connectionName: "test tap" });
  const queue = `test.work-tap.${newUlid()}`;
  await broker.addTopology(async (ch) => {
    await ch.assertExchange(EXCHANGES.work, "direct", { durable: true });
    await ch.assertQueue(queue, { durable: false, autoDelete: true });
    for (const p of providers) await ch.bindQueue(queue, EXCHANGES.work, p);
  });
  const events: ResourceWork[] = [];
  const consumer = await broker.consume(queue, resourceWork, async (d) => void events.push(d.payload), { prefetch: 100 });
  return {
    broker,
    events,
    eventsFor: (id) => events.filter((e) => e.resource_id === id),
    async publishResult(kind, r, extra = {}) {
      const base = { event_id: r.event_id, resource_id: r.resource_id, org_id: r.org_id, project_id: r.project_id, space_id: r.space_id, at: new Date().toISOString() };
      const contract = providerResults[kind];
      const payload =
        kind === "started"
          ? { ...base, attempt: 0 }
          : kind === "succeeded"
            ? { ...base, event_type: "CREATE", outputs: {}, ...extra }
            : { ...base, event_type: "CREATE", error: "boom", permanent: true, ...extra };
      await broker.publish(contract as typeof providerResults.failed, payload as never, { exchange: EXCHANGES.results, routingKey: contract.type });
    },
    async close() {
      await consumer.cancel();
      await broker.close();
    },
  };
}
