import { RPC_QUEUES, ping, type DependencyStatus, type ReadinessBody, type ResponseOf } from "@pragma/contracts";

type PingReply = ResponseOf<typeof ping>;
import type { Bus, Pingable } from "./ports";

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

/** Services whose ping names their PostgreSQL (registry and resource store, each on its own schema). */
const DATABASE_OWNERS = ["registry", "resource-store"];

/**
 * Redis is reported but not required: the rate limiter fails open without it
 * (README, "Redis down"), so its loss degrades the gateway instead of taking every
 * replica out of the load balancer at once. The broker, every service and PostgreSQL
 * are required. The gateway holds no database connection: PostgreSQL's status is what
 * the registry and the resource store report in their ping replies (a `SELECT 1` on
 * their own pool); it is down if either sees it down, and named down with
 * "NOT_REPORTED" when neither answered (nothing can tell then).
 */
export function createReadiness(deps: { bus: Bus; redis: Pingable; timeoutMs?: number }): Readiness {
  const timeoutMs = deps.timeoutMs ?? 2000;
  return {
    async check() {
      const databaseViews: { service: string; check: NonNullable<PingReply["checks"]>[string] }[] = [];
      const entries: [string, Promise<DependencyStatus>][] = [
        ["rabbitmq", timed(async () => deps.bus.isConnected(), true)],
        ["redis", timed(async () => (await withTimeout(deps.redis.ping(), timeoutMs)) === "PONG", false)],
        ...Object.entries(SERVICES).map(([name, queue]): [string, Promise<DependencyStatus>] => [
          name,
          timed(async () => {
            const reply = await deps.bus.call(queue, ping, {}, { timeoutMs });
            const postgres = reply.checks?.postgres;
            if (postgres && DATABASE_OWNERS.includes(name)) databaseViews.push({ service: name, check: postgres });
            return reply.ok;
          }, true),
        ]),
      ];
      const results = await Promise.all(entries.map(async ([name, p]) => [name, await p] as const));
      const all: (readonly [string, DependencyStatus])[] = [...results, ["postgres", postgresStatus(databaseViews)]];
      const checks = Object.fromEntries(all);
      const down = all.filter(([, s]) => s.status === "down" && s.required).map(([n]) => n);
      const degraded = all.some(([, s]) => s.status === "down");
      return {
        status: down.length > 0 ? "unavailable" : degraded ? "degraded" : "ok",
        checks,
        ...(down.length > 0 ? { down } : {}),
      };
    },
  };
}

function postgresStatus(views: { service: string; check: NonNullable<PingReply["checks"]>[string] }[]): DependencyStatus {
  if (views.length === 0) return { status: "down", required: true, error: "NOT_REPORTED" };
  const latency_ms = Math.max(...views.map((v) => v.check.latency_ms ?? 0));
  const bad = views.filter((v) => v.check.status === "down");
  if (bad.length === 0) return { status: "up", required: true, latency_ms };
  return { status: "down", required: true, latency_ms, error: bad.map((v) => `${v.service}: ${v.check.error ?? "down"}`).join("; ") };
}
