import type { Redis } from "ioredis";
import { RPC_QUEUES, ping, type DependencyStatus, type ReadinessBody } from "@pragma/contracts";
import type { Bus } from "./bus";

const SERVICES: Record<string, string> = {
  registry: RPC_QUEUES.registry,
  "resource-store": RPC_QUEUES.resourceStore,
  "provider-worker": RPC_QUEUES.providerWorker,
};

export interface Readiness {
  check(): Promise<ReadinessBody>;
}

async function timed(fn: () => Promise<boolean>, required: boolean): Promise<DependencyStatus> {
  const started = performance.now();
  try {
    const ok = await fn();
    const latency_ms = Math.round(performance.now() - started);
    return ok ? { status: "up", required, latency_ms } : { status: "down", required, latency_ms, error: "reported not ok" };
  } catch (err) {
    // Only our own error vocabulary reaches the body: the message names a timeout or refusal, never a secret.
    const code = (err as { code?: unknown }).code;
    return { status: "down", required, error: typeof code === "string" ? code : "unreachable" };
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(Object.assign(new Error("timeout"), { code: "TIMEOUT" })), ms);
    }),
  ]);
}

/**
 * Redis is reported but not required: the rate limiter fails open without it
 * (README, "Redis down"), so its loss degrades the gateway instead of taking every
 * replica out of the load balancer at once. The broker and every service are required.
 * Postgres is behind the registry and resource store; their ping answers ok=false when
 * their database is down.
 */
export function createReadiness(deps: { bus: Bus; redis: Redis; timeoutMs?: number }): Readiness {
  const timeoutMs = deps.timeoutMs ?? 2000;
  return {
    async check() {
      const entries: [string, Promise<DependencyStatus>][] = [
        ["rabbitmq", timed(async () => deps.bus.isConnected(), true)],
        ["redis", timed(async () => (await withTimeout(deps.redis.ping(), timeoutMs)) === "PONG", false)],
        ...Object.entries(SERVICES).map(([name, queue]): [string, Promise<DependencyStatus>] => [
          name,
          timed(async () => (await deps.bus.call(queue, ping, {}, { timeoutMs })).ok, true),
        ]),
      ];
      const results = await Promise.all(entries.map(async ([name, p]) => [name, await p] as const));
      const checks = Object.fromEntries(results);
      const down = results.filter(([, s]) => s.status === "down" && s.required).map(([n]) => n);
      const degraded = results.some(([, s]) => s.status === "down");
      return {
        status: down.length > 0 ? "unavailable" : degraded ? "degraded" : "ok",
        checks,
        ...(down.length > 0 ? { down } : {}),
      };
    },
  };
}
