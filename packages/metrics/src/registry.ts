import { Registry, collectDefaultMetrics } from "prom-client";

export { Registry };

/**
 * One registry per running service (not prom-client's global one): tests start several
 * services in one process, and each must report only its own numbers. Every series
 * carries `service`, so one Prometheus job can scrape them all and dashboards still tell
 * them apart; Node's default process metrics (CPU, memory, event-loop lag, GC) come with it.
 */
export function createMetricsRegistry(service: string): Registry {
  const registry = new Registry();
  registry.setDefaultLabels({ service });
  collectDefaultMetrics({ register: registry, prefix: "pragma_" });
  return registry;
}

/** Histogram buckets in seconds: 1 ms .. 10 s (HTTP and RPC answers, most of them under 50 ms). */
export const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Provider hooks run longer (a CREATE DATABASE takes a second): 5 ms .. 5 min. */
export const HOOK_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300];
