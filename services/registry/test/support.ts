import { randomBytes } from "node:crypto";
import { EXCHANGES, registryEvents, type MessageContract } from "@pragma/contracts";
import type { CreateOrgBody, CreateProjectBody } from "@pragma/contracts";
import { newUlid } from "@pragma/ids";
import { createLogger } from "@pragma/logger";
import { connectBroker, type Broker } from "@pragma/messaging";
import { captureLogs, createTestEnv, type CapturedLogs, type TestEnv } from "@pragma/testing";
import { readConfig, type RegistryConfig } from "../src/config";
import { startRegistry, type RegistryHandle } from "../src/service";

export interface Harness {
  env: TestEnv;
  config: RegistryConfig;
  registry: RegistryHandle;
  /** A separate connection, as the gateway or a worker would have. */
  client: Broker;
  logs: CapturedLogs;
  stop(): Promise<void>;
}

export const testKey = () => randomBytes(32).toString("base64");

/** The registry in-process on a fresh database and vhost, driven over the bus like production. */
export async function startHarness(label: string, extraEnv: Record<string, string> = {}): Promise<Harness> {
  const env = await createTestEnv(label);
  const config = readConfig(
    { NODE_ENV: "test", LOG_LEVEL: "debug", DATABASE_URL: env.databaseUrl, AMQP_URL: env.amqpUrl, PRAGMA_ENCRYPTION_KEYS: `k1:${testKey()}`, ...extraEnv },
    { onError: "throw" },
  );
  const logs = captureLogs();
  const logger = createLogger({ service: "registry", level: "debug", destination: logs.destination });
  const registry = await startRegistry(config, { logger });
  const client = await connectBroker({ url: env.amqpUrl, logger: createLogger({ service: "test-client", level: "debug", destination: logs.destination }), connectionName: "test-client" });
  // Events published with no queue bound would be unroutable; tests that care bind their own.
  await client.addTopology(async (ch) => void (await ch.assertExchange(EXCHANGES.events, "topic", { durable: true })));
  return {
    env,
    config,
    registry,
    client,
    logs,
    async stop() {
      await client.close().catch(() => undefined);
      await registry.stop();
      await env.dispose();
    },
  };
}

export function orgBody(overrides: Partial<CreateOrgBody> = {}): CreateOrgBody {
  const id = newUlid();
  return {
    org_id: id,
    name: "Acme",
    abbreviation: `acme-${id.slice(-8).toLowerCase()}`,
    admin_email: "admin@acme.test",
    admin_name: "Ada Admin",
    address: "1 Main St",
    state: "CA",
    country: "US",
    pin_code: "94000",
    ...overrides,
  };
}

export function projectBody(overrides: Partial<CreateProjectBody> = {}, password = "s3cret-pw"): CreateProjectBody {
  return {
    name: "Shop",
    abbreviation: `shop-${newUlid().slice(-8).toLowerCase()}`,
    description: "the shop",
    database: [
      {
        host: "127.0.0.1",
        port: "5432",
        username: "postgres",
        password,
        db_name: "test",
        db_type: "postgres",
        connect_timeout_secs: 5,
        idle_timeout_secs: 60,
        max_open_connections: 10,
        max_idle_connections: 2,
      },
    ],
    ...overrides,
  };
}

export interface CapturedEvent {
  type: string;
  messageId: string;
  payload: unknown;
  headers: Record<string, unknown>;
}

/** Binds a fresh queue to pragma.events '#' and records every event, as any subscriber would see it. */
export async function captureEvents(client: Broker, queue: string): Promise<{ events: CapturedEvent[]; stop(): Promise<void> }> {
  const events: CapturedEvent[] = [];
  await client.addTopology(async (ch) => {
    // Not auto-deleted: a test that closes connections must not lose what is published
    // while this consumer reconnects (the vhost goes with the test env).
    await ch.assertQueue(queue, { durable: false, autoDelete: false });
    await ch.bindQueue(queue, EXCHANGES.events, "#");
  });
  const contracts = Object.values(registryEvents) as MessageContract<unknown>[];
  const handle = await client.consume(queue, contracts, async (d) => void events.push({ type: d.type, messageId: d.messageId, payload: d.payload, headers: d.headers }), { prefetch: 50 });
  return { events, stop: () => handle.cancel() };
}
