/**
 * Starts the whole system in-process, each service through its own config schema
 * and start function (the same path main.ts takes), on one isolated test env.
 */
import { randomBytes } from "node:crypto";
import type { Writable } from "node:stream";
import { createLogger, type Logger } from "@pragma/logger";
import { createTestEnv, type TestEnv } from "@pragma/testing";
import { generateJwtKey, jwtKeysJson, readConfig as gatewayConfig } from "../../services/gateway/src/config";
import { startGateway } from "../../services/gateway/src/service";
import { readConfig as registryConfig } from "../../services/registry/src/config";
import { startRegistry } from "../../services/registry/src/service";
import { readConfig as storeConfig } from "../../services/resource-store/src/config";
import { startResourceStore } from "../../services/resource-store/src/service";
import { readConfig as workerConfig } from "../../services/provider-worker/src/config";
import { startWorker } from "../../services/provider-worker/src/service";

export const SERVER_KEY = "test-server-key-0123456789abcdef";

export interface RunningSystem {
  env: TestEnv;
  /** The env every service was configured from (keys included). */
  config: Record<string, string>;
  baseUrl: string;
  /** One more gateway on the same infrastructure (another replica): stopped with the system, or earlier by its own stop(). */
  addGateway(): Promise<{ baseUrl: string; stop(): Promise<void> }>;
  /** Stops the first gateway alone (a restart: addGateway() starts its successor). */
  stopGateway(): Promise<void>;
  /** Each service's GET /metrics port, when started with METRICS_PORT (0: any free port). */
  metricsPorts: Partial<Record<"gateway" | "registry" | "resource-store" | "provider-worker", number>>;
  stop(): Promise<void>;
}

/** A fresh key per system: what the store seals, only its workers can open. */
export const testEncryptionKeys = () => `t1:${randomBytes(32).toString("base64")}`;

/** `logs`: every service writes its log lines there (at LOG_LEVEL), to assert on what they say. */
export async function startSystem(label: string, extraEnv: Record<string, string> = {}, opts: { logs?: Writable } = {}): Promise<RunningSystem> {
  const env = await createTestEnv(label);
  const base: Record<string, string> = {
    NODE_ENV: "test",
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    DATABASE_URL: env.databaseUrl,
    AMQP_URL: env.amqpUrl,
    REDIS_URL: env.redisUrl,
    REDIS_KEY_PREFIX: env.redisPrefix,
    PRAGMA_SERVER_KEY: SERVER_KEY,
    GATEWAY_PORT: "0",
    // These tests poll for state changes; the per-org rate limit has tests of its own
    // (services/gateway/test/rate-limit.int.test.ts) and must not throttle these.
    RATE_LIMIT_RPS: "1000",
    RATE_LIMIT_BURST: "2000",
    PRAGMA_ENCRYPTION_KEYS: testEncryptionKeys(),
    // One signing key for every gateway of the system (addGateway), as replicas share theirs.
    JWT_KEYS: jwtKeysJson([generateJwtKey("e2e")]),
    JWT_ACTIVE_KID: "e2e",
    ...extraEnv,
  };
  const logger = (service: string): { logger?: Logger } =>
    opts.logs ? { logger: createLogger({ service, level: base.LOG_LEVEL, destination: opts.logs }) } : {};
  const stops: (() => Promise<void>)[] = [];
  try {
    const registry = await startRegistry(registryConfig(base), logger("registry"));
    stops.push(() => registry.stop());
    const store = await startResourceStore(storeConfig(base), logger("resource-store"));
    stops.push(() => store.stop());
    const worker = await startWorker(workerConfig(base), logger("provider-worker"));
    stops.push(() => worker.stop());
    const gateway = await startGateway(gatewayConfig(base), logger("gateway"));
    stops.push(() => gateway.stop());
    return {
      env,
      config: base,
      baseUrl: `http://127.0.0.1:${gateway.port}`,
      async addGateway() {
        const g = await startGateway(gatewayConfig(base));
        stops.push(() => g.stop());
        return { baseUrl: `http://127.0.0.1:${g.port}`, stop: () => g.stop() };
      },
      stopGateway: () => gateway.stop(),
      metricsPorts: { gateway: gateway.metricsPort, registry: registry.metricsPort, "resource-store": store.metricsPort, "provider-worker": worker.metricsPort },
      async stop() {
        for (const stop of stops.reverse()) await stop();
        await env.dispose();
      },
    };
  } catch (err) {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    await env.dispose();
    throw err;
  }
}

export async function call(baseUrl: string, method: string, path: string, opts: { body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { ...(opts.body !== undefined ? { "content-type": "application/json" } : {}), ...opts.headers },
    body: opts.body !== undefined ? JSON.stringify(opts.body) : undefined,
  });
  const text = await res.text();
  let json: any;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    json = undefined;
  }
  return { status: res.status, headers: res.headers, body: json, text };
}
