import { Gauge, Histogram, type Registry } from "prom-client";
import { LATENCY_BUCKETS } from "./registry";
import { memo2 } from "./labels";
import { sampledGauge, sampler } from "./sampled";

/**
 * Request/reply latency on both ends, by request type (a closed set: the contracts) and
 * outcome ("ok" or the AppError code, also a closed set). Structurally the BrokerMetrics
 * of @pragma/messaging, which calls it; this package does not depend on the broker.
 */
export function rpcMetrics(registry: Registry): {
  rpcClient(type: string, outcome: string, seconds: number): void;
  rpcServer(type: string, outcome: string, seconds: number): void;
} {
  const client = new Histogram({
    name: "pragma_rpc_client_duration_seconds",
    help: "Requests this process sent over the bus, until the reply (or the error) arrived, by request type and outcome (ok or the error code)",
    labelNames: ["type", "outcome"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const server = new Histogram({
    name: "pragma_rpc_server_duration_seconds",
    help: "Requests this process answered, from delivery to reply, by request type and outcome (ok or the error code)",
    labelNames: ["type", "outcome"],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const clientOf = memo2((type, outcome) => client.labels(type, outcome));
  const serverOf = memo2((type, outcome) => server.labels(type, outcome));
  return {
    rpcClient: (type, outcome, seconds) => clientOf(type, outcome).observe(seconds),
    rpcServer: (type, outcome, seconds) => serverOf(type, outcome).observe(seconds),
  };
}

export interface QueueDepth {
  queue: string;
  messages: number;
  consumers: number;
}

/**
 * Ready messages and consumers of the named queues, read with a passive declare when
 * scraped (at most every `minIntervalMs`). Each replica of a service reports the same
 * queues: dashboards take max by queue.
 */
export function queueDepthMetrics(registry: Registry, read: () => Promise<QueueDepth[]>, minIntervalMs = 5_000): void {
  const sample = sampler(read, minIntervalMs);
  sampledGauge(registry, { name: "pragma_queue_messages", help: "Messages ready in the queue (sampled with a passive declare)", labelNames: ["queue"] }, sample, (qs) =>
    qs.map((q) => ({ labels: { queue: q.queue }, value: q.messages })),
  );
  sampledGauge(registry, { name: "pragma_queue_consumers", help: "Consumers attached to the queue (sampled with a passive declare)", labelNames: ["queue"] }, sample, (qs) =>
    qs.map((q) => ({ labels: { queue: q.queue }, value: q.consumers })),
  );
}

/** What a node-postgres Pool reports about itself. */
export interface PoolLike {
  totalCount: number;
  idleCount: number;
  waitingCount: number;
}

/**
 * A service's own PostgreSQL pool(s): open connections, idle ones, and callers waiting
 * for one (above 0 for long: the pool is too small for the load). Read when scraped.
 */
export function pgPoolMetrics(registry: Registry, pools: Record<string, PoolLike>, max: Record<string, number> = {}): void {
  new Gauge({
    name: "pragma_db_pool_connections",
    help: "Connections of this service's own PostgreSQL pool by state (total, idle, waiting = callers queued for a connection, max)",
    labelNames: ["pool", "state"],
    registers: [registry],
    collect() {
      for (const [name, p] of Object.entries(pools)) {
        this.set({ pool: name, state: "total" }, p.totalCount);
        this.set({ pool: name, state: "idle" }, p.idleCount);
        this.set({ pool: name, state: "waiting" }, p.waitingCount);
        if (max[name] !== undefined) this.set({ pool: name, state: "max" }, max[name]);
      }
    },
  });
}

/** 1 while connected to the broker. */
export function brokerConnectedMetric(registry: Registry, isConnected: () => boolean): void {
  new Gauge({
    name: "pragma_broker_connected",
    help: "1 while this process has a connection to RabbitMQ",
    registers: [registry],
    collect() {
      this.set(isConnected() ? 1 : 0);
    },
  });
}
