/**
 * Starts the whole system in-process, each service through its own config schema
 * and start function (the same path main.ts takes), on one isolated test env.
 */
import { createTestEnv, type TestEnv } from "@pragma/testing";
import { readConfig as gatewayConfig } from "../../services/gateway/src/config";
import { startGateway } from "../../services/gateway/src/service";
import { readConfig as registryConfig } from "../../services/registry/src/config";
import { startRegistry } from "../../services/registry/src/service";
import { readConfig as storeConfig } from "../../services/resource-store/src/config";
import { startResourceStore } from "../../services/resource-store/src/service";
import { loadWorkerConfig as workerConfig } from "../../services/provider-worker/src/config";
import { startWorker } from "../../services/provider-worker/src/service";

export const SERVER_KEY = "test-server-key-0123456789abcdef";

export interface RunningSystem {
  env: TestEnv;
  baseUrl: string;
  /** Each service's GET /metrics port, when started with METRICS_PORT (0: any free port). */
  metricsPorts: Partial<Record<"gateway" | "registry" | "resource-store" | "provider-worker", number>>;
  stop(): Promise<void>;
}

export async function startSystem(label: string, extraEnv: Record<string, string> = {}): Promise<RunningSystem> {
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
    ...extraEnv,
  };
  const stops: (() => Promise<void>)[] = [];
  try {
    const registry = await startRegistry(registryConfig(base));
    stops.push(() => registry.stop());
    const store = await startResourceStore(storeConfig(base));
    stops.push(() => store.stop());
    const worker = await startWorker(workerConfig(base));
    stops.push(() => worker.stop());
    const gateway = await startGateway(gatewayConfig(base));
    stops.push(() => gateway.stop());
    return {
      env,
      baseUrl: `http://127.0.0.1:${gateway.port}`,
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
