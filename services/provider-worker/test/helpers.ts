import { randomBytes } from "node:crypto";
import { AesGcmCipher, PURPOSES, ValueSealer, isSealed, parseKeyList } from "@pragma/crypto";
import { EXCHANGES, RESULT_MESSAGE_CONTRACTS, resourceWork, resultsOf, type ResourceWork, type ResultKind } from "@pragma/contracts";
import { newId, newUlid } from "@pragma/ids";
import { createLogger } from "@pragma/logger";
import { connectBroker, declareTopology, type Broker, type Delivery } from "@pragma/messaging";
import { captureLogs, createTestEnv, waitFor, type CapturedLogs, type TestEnv } from "@pragma/testing";
import { readConfig, type WorkerConfig } from "../src/config";
import { startWorker, type RunningWorker, type StartOptions } from "../src/service";
import { testProvider } from "./fixtures/test-provider";

export type ResultRecord = { kind: ResultKind; payload: Record<string, any>; at: number; messageId: string; correlationId?: string | undefined };
export type DeadLetter = { payload: ResourceWork; headers: Record<string, unknown> };

export const TEST_RESULTS_QUEUE = "test.results";

/** The keys test workers get: outputs they seal, a test opens with `opened`. */
export const TEST_ENCRYPTION_KEYS = `t1:${randomBytes(32).toString("base64")}`;
const testSealer = new ValueSealer(new AesGcmCipher(parseKeyList(TEST_ENCRYPTION_KEYS), "t1", PURPOSES.resourceValue));
/** A result's outputs with the sealed (sensitive) values opened, as the store's reveal would show them. */
export const opened = <T>(v: T): T => testSealer.openDeep(v).value;
export { isSealed };

export function workerConfig(env: TestEnv, overrides: Record<string, string> = {}): WorkerConfig {
  return readConfig(
    { NODE_ENV: "test", LOG_LEVEL: "debug", PRAGMA_ENCRYPTION_KEYS: TEST_ENCRYPTION_KEYS, AMQP_URL: env.amqpUrl, REDIS_URL: env.redisUrl, REDIS_PREFIX: env.redisPrefix, RETRY_TIERS_MS: "200,400,800", ...overrides },
    { onError: "throw" },
  );
}

export async function startTestWorker(env: TestEnv, overrides: Record<string, string> = {}, opts: StartOptions = {}): Promise<{ worker: RunningWorker; logs: CapturedLogs }> {
  const logs = captureLogs();
  const logger = createLogger({ service: "provider-worker-test", level: "debug", destination: logs.destination });
  const worker = await startWorker(workerConfig(env, overrides), { logger, ...opts });
  return { worker, logs };
}

/** A worker serving only the scriptable test provider, its logs, and an observer on the bus, in a fresh environment. */
export interface TestProviderRig {
  env: TestEnv;
  worker: RunningWorker;
  logs: CapturedLogs;
  bus: Observer;
  tp: ReturnType<typeof testProvider>;
  close(): Promise<void>;
}

export async function startTestProviderRig(name: string, overrides: Record<string, string> = {}): Promise<TestProviderRig> {
  const env = await createTestEnv(name);
  const tp = testProvider(env.redisUrl, env.redisPrefix);
  const { worker, logs } = await startTestWorker(env, { PROVIDERS: "test", ...overrides }, { providers: [tp.provider] });
  const bus = await Observer.start(env);
  return {
    env,
    worker,
    logs,
    bus,
    tp,
    async close() {
      await bus.close();
      await worker.stop();
      await tp.close();
      await env.dispose();
    },
  };
}

/** The test's side of the bus: publishes work like the store's relay, and records every result and dead letter. */
export class Observer {
  readonly results: ResultRecord[] = [];
  /** Messages the results arrived in (several results can share one: provider.event.reported.v1). */
  resultMessages = 0;
  private readonly correlations = new Map<string, string>();
  readonly deadLetters: DeadLetter[] = [];
  private constructor(readonly broker: Broker) {}

  static async start(env: TestEnv, options: { deadLetters?: boolean } = {}): Promise<Observer> {
    const logger = createLogger({ service: "test-observer", level: "silent" });
    const broker = await connectBroker({ url: env.amqpUrl, logger, connectionName: "test-observer" });
    const o = new Observer(broker);
    await broker.addTopology((ch) =>
      declareTopology(ch, {
        exchanges: [{ name: EXCHANGES.results, type: "topic" }],
        queues: [{ name: TEST_RESULTS_QUEUE, arguments: { "x-queue-type": "quorum" } }],
        bindings: [{ source: EXCHANGES.results, destination: TEST_RESULTS_QUEUE, routingKey: "provider.event.#" }],
      }),
    );
    await broker.consume(
      TEST_RESULTS_QUEUE,
      RESULT_MESSAGE_CONTRACTS as never,
      async (d: Delivery<Record<string, any>>) => {
        o.resultMessages += 1;
        for (const r of resultsOf(d.type, d.payload, d)) o.results.push({ kind: r.kind, payload: r.payload as Record<string, any>, at: Date.now(), messageId: r.messageId, correlationId: r.correlationId });
      },
      { prefetch: 500 },
    );
    if (options.deadLetters !== false) {
      // The worker declares pragma.dead-letter; wait for it before consuming.
      await waitFor(async () => (await broker.consume<ResourceWork>("pragma.dead-letter", resourceWork, async (d) => void o.deadLetters.push({ payload: d.payload, headers: d.headers }), { prefetch: 100 })) ?? true, {
        timeoutMs: 10_000,
        message: "pragma.dead-letter to exist",
      });
    }
    return o;
  }

  publish(work: ResourceWork, headers: Record<string, unknown> = {}): Promise<void> {
    return this.broker.publish(resourceWork, work, {
      exchange: EXCHANGES.work,
      routingKey: work.provider,
      messageId: work.event_id,
      correlationId: this.correlationOf(work.event_id),
      headers: { "x-resource-id": work.resource_id, ...headers },
    });
  }

  /** The correlation id the observer publishes an event's work with (one per event, made on first use). */
  correlationOf(eventId: string): string {
    let id = this.correlations.get(eventId);
    if (!id) this.correlations.set(eventId, (id = newId("request")));
    return id;
  }

  of(eventId: string, kind?: ResultRecord["kind"]): ResultRecord[] {
    return this.results.filter((r) => r.payload.event_id === eventId && (!kind || r.kind === kind));
  }

  /** The final result (succeeded or failed) of an event. */
  async outcome(eventId: string, timeoutMs = 15_000): Promise<ResultRecord> {
    return waitFor(async () => this.results.find((r) => r.payload.event_id === eventId && r.kind !== "started"), { timeoutMs, message: `a result for ${eventId}` });
  }

  close(): Promise<void> {
    return this.broker.close();
  }
}

export const TENANT = { org_id: newUlid(), project_id: newId("project"), space_id: newId("space") };

export function work(partial: Partial<ResourceWork> & Pick<ResourceWork, "provider" | "resource_type" | "resource_name">, tenant = TENANT): ResourceWork {
  return {
    event_id: newId("event"),
    event_type: "CREATE",
    resource_id: `resource:${partial.provider}_${partial.resource_type}_${partial.resource_name}`,
    config: {},
    previous_config: null,
    outputs: null,
    created_at: new Date().toISOString(),
    ...tenant,
    ...partial,
  };
}
