export { Counter, Gauge, Histogram, AggregatorRegistry } from "prom-client";
export { Registry, createMetricsRegistry, LATENCY_BUCKETS, HOOK_BUCKETS } from "./registry";
export { memo2, memo3, statusLabel } from "./labels";
export { sampler, sampledGauge, type Sample } from "./sampled";
export { serveMetrics, type MetricsServer } from "./server";
export { rpcMetrics, queueDepthMetrics, pgPoolMetrics, brokerConnectedMetric, type QueueDepth, type PoolLike } from "./common";
