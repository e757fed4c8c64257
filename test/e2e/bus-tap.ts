/**
 * The test's own connection to the system's broker: a tap on the work exchange (every
 * event the store publishes, counted per resource) and a way to publish worker results
 * by hand, for the states a real provider is not asked to reach on cue.
 */
import { EXCHANGES, RESULT_MESSAGE_CONTRACTS, providerResults, providerResultsReported, resourceWork, resultsOf, type MessageContract, type ResourceWork, type ResultKind } from "@pragma/contracts";
import { newUlid } from "@pragma/ids";
import { createLogger } from "@pragma/logger";
import { connectBroker, type Broker } from "@pragma/messaging";

type ResultIds = { event_id: string; resource_id: string; org_id: string; project_id: string; space_id: string };

/** A result body as a worker would send it; `extra` overrides the defaults. */
function resultPayload(kind: ResultKind, r: ResultIds, extra: Record<string, unknown> = {}) {
  const base = { event_id: r.event_id, resource_id: r.resource_id, org_id: r.org_id, project_id: r.project_id, space_id: r.space_id, at: new Date().toISOString() };
  return kind === "started"
    ? { ...base, attempt: 0 }
    : kind === "succeeded"
      ? { ...base, event_type: "CREATE", outputs: {}, ...extra }
      : { ...base, event_type: "CREATE", error: "boom", permanent: true, ...extra };
}

export interface BusTap {
  broker: Broker;
  events: ResourceWork[];
  eventsFor(resourceId: string): ResourceWork[];
  /** Worker results seen on the results exchange: type and event id. */
  results: { type: string; event_id: string; resource_id: string }[];
  publishResult(kind: ResultKind, r: ResultIds, extra?: Record<string, unknown>): Promise<void>;
  /** Several results in one provider.event.reported.v1 message, as a worker sends what it finished together. */
  publishReported(entries: { kind: ResultKind; r: ResultIds; extra?: Record<string, unknown> }[]): Promise<void>;
  close(): Promise<void>;
}

export async function tapBus(amqpUrl: string, providers = ["pragma", "postgres", "mysql"]): Promise<BusTap> {
  const broker = await connectBroker({ url: amqpUrl, logger: createLogger({ service: "test-tap", level: "silent" }), connectionName: "test tap" });
  const queue = `test.work-tap.${newUlid()}`;
  const resultsQueue = `test.results-tap.${newUlid()}`;
  // Durable: the tap must survive the connection losses some tests cause on purpose.
  await broker.addTopology(async (ch) => {
    await ch.assertExchange(EXCHANGES.work, "direct", { durable: true });
    await ch.assertExchange(EXCHANGES.results, "topic", { durable: true });
    await ch.assertQueue(queue, { durable: true });
    await ch.assertQueue(resultsQueue, { durable: true });
    for (const p of providers) await ch.bindQueue(queue, EXCHANGES.work, p);
    await ch.bindQueue(resultsQueue, EXCHANGES.results, "provider.event.#");
  });
  const events: ResourceWork[] = [];
  const results: BusTap["results"] = [];
  const consumer = await broker.consume(queue, resourceWork, async (d) => void events.push(d.payload), { prefetch: 100 });
  // One result per message, or several a worker finished together (provider.event.reported.v1): recorded one by one.
  const resultsConsumer = await broker.consume(
    resultsQueue,
    RESULT_MESSAGE_CONTRACTS as unknown as MessageContract<unknown>[],
    async (d) => {
      for (const r of resultsOf(d.type, d.payload, d)) results.push({ type: providerResults[r.kind].type, event_id: r.payload.event_id, resource_id: r.payload.resource_id });
    },
    { prefetch: 100 },
  );
  return {
    broker,
    events,
    results,
    eventsFor: (id) => events.filter((e) => e.resource_id === id),
    async publishResult(kind, r, extra = {}) {
      const contract = providerResults[kind];
      await broker.publish(contract as typeof providerResults.failed, resultPayload(kind, r, extra) as never);
    },
    async publishReported(entries) {
      const results = entries.map(({ kind, r, extra }) => ({ type: providerResults[kind].type, message_id: `${r.event_id}:${kind}`, data: resultPayload(kind, r, extra) }));
      await broker.publish(providerResultsReported, { results } as never);
    },
    async close() {
      await consumer.cancel();
      await resultsConsumer.cancel();
      await broker.close();
    },
  };
}

/**
 * Every message published to any exchange of `vhost` while it runs, as text (body and
 * headers), for asserting on what must never travel in clear. One queue, bound to each
 * exchange so that it receives a copy of everything routed there: "#" on topic
 * exchanges, no key on fanout and headers ones, and on direct exchanges every key bound
 * when the tap starts (start it after the services have declared their topology). The
 * default exchange cannot be bound: the request/reply traffic on it is not seen.
 */
export interface WireTap {
  messages(): string[];
  close(): Promise<void>;
}

export async function tapEveryExchange(amqpUrl: string, vhost: string): Promise<WireTap> {
  // amqplib directly: these messages are read as raw bytes, whatever their contract.
  const amqp = (await import("../../packages/messaging/node_modules/amqplib")) as unknown as {
    connect(url: string): Promise<{ createChannel(): Promise<any>; close(): Promise<void> }>;
  };
  const { bindingKeys, listExchanges } = await import("@pragma/testing");
  const conn = await amqp.connect(amqpUrl);
  const ch = await conn.createChannel();
  const queue = `test.wire-tap.${newUlid()}`;
  await ch.assertQueue(queue, { exclusive: true });
  for (const e of await listExchanges(vhost)) {
    if (e.name === "" || e.name.startsWith("amq.")) continue;
    if (e.type === "topic") await ch.bindQueue(queue, e.name, "#");
    else if (e.type === "fanout" || e.type === "headers") await ch.bindQueue(queue, e.name, "");
    else for (const key of await bindingKeys(vhost, e.name)) await ch.bindQueue(queue, e.name, key);
  }
  const seen: string[] = [];
  await ch.consume(
    queue,
    (m: { content: Buffer; properties: { headers?: Record<string, unknown> }; fields: { exchange: string; routingKey: string } } | null) => {
      if (m) seen.push(`${m.fields.exchange} ${m.fields.routingKey} ${JSON.stringify(m.properties.headers ?? {})} ${m.content.toString("utf8")}`);
    },
    { noAck: true },
  );
  return {
    messages: () => [...seen],
    async close() {
      await conn.close().catch(() => undefined);
    },
  };
}
