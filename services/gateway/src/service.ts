import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { Redis } from "ioredis";
import { createLogger, type Logger } from "@pragma/logger";
import { connectBroker, subscribeToNotifications, type Broker } from "@pragma/messaging";
import type { GatewayConfig } from "./config";
import { createApp } from "./app";
import { createBus } from "./bus";
import { TokenService } from "./auth/tokens";
import { Tenancy } from "./tenancy";
import { TokenBucket } from "./rate-limit/token-bucket";
import { createReadiness } from "./readiness";
import { ResourceCache } from "./resource-cache";
import { resourceEvents } from "@pragma/contracts";
import { newUlid } from "@pragma/ids";
import { AggregatorRegistry, brokerConnectedMetric, createMetricsRegistry, rpcMetrics, serveMetrics, type MetricsServer, type Registry } from "@pragma/metrics";
import { gatewayMetrics } from "./metrics";

export interface GatewayHandle {
  port: number;
  /** Where GET /metrics answers (undefined: METRICS_PORT unset, or a cluster worker whose primary serves them). */
  metricsPort: number | undefined;
  metrics: Registry;
  /** Stops accepting, lets in-flight requests finish (bounded), then closes the broker and Redis. */
  stop(): Promise<void>;
}

const DRAIN_TIMEOUT_MS = 10_000;

export function createRedis(config: GatewayConfig): Redis {
  return new Redis(config.redisUrl, {
    keyPrefix: config.redisKeyPrefix,
    // Without these a Redis outage would park every request in ioredis's offline queue
    // instead of letting the rate limiter fail open at once.
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    commandTimeout: 500,
    connectTimeout: 2000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
    // Concurrent requests' token-bucket calls go out in one write per tick.
    enableAutoPipelining: true,
  });
}

/**
 * opts.clusterWorker: one of GATEWAY_PROCESSES; it opens no metrics listener and hands its
 * registry to the primary, which serves the sum of every process (main.ts).
 */
export async function startGateway(config: GatewayConfig, opts: { logger?: Logger; clusterWorker?: boolean } = {}): Promise<GatewayHandle> {
  const logger = opts.logger ?? createLogger({ service: "gateway", level: config.logLevel });
  if (config.generated.length > 0) {
    logger.warn({ generated: config.generated }, "development mode: generated missing secrets; tokens and the server key change on every restart");
  }

  let broker: Broker | undefined;
  let redis: Redis | undefined;
  let server: Server | undefined;
  let metricsServer: MetricsServer | undefined;
  const registry = createMetricsRegistry("gateway");
  if (opts.clusterWorker) {
    AggregatorRegistry.setRegistries([registry]);
    // Its constructor is what makes a cluster worker answer the primary's requests for metrics.
    new AggregatorRegistry();
  }

  const closeClients = async () => {
    await metricsServer?.close();
    await broker?.close().catch((err: unknown) => logger.error({ err }, "broker close failed"));
    if (redis) {
      await redis.quit().catch(() => redis?.disconnect());
    }
  };

  try {
    redis = createRedis(config);
    // Redis is optional at runtime (fail open), so a failure to connect is logged, not fatal.
    redis.on("error", (err: Error) => logger.debug({ err: err.message }, "redis error"));
    broker = await connectBroker({ url: config.amqpUrl, logger, connectionName: "gateway", requestTimeoutMs: config.rpcTimeoutMs, metrics: rpcMetrics(registry) });
    const connected = broker;
    brokerConnectedMetric(registry, () => connected.isConnected());
    const bus = createBus(broker, config.rpcTimeoutMs);
    const resources = new ResourceCache({ ...config.resourceCache, live: () => broker?.isConnected() ?? false });
    if (config.resourceCache.ttlMs > 0) await subscribeToChanges(broker, resources);
    const app = createApp({
      config,
      logger,
      bus,
      tokens: new TokenService(config.jwt),
      tenancy: new Tenancy(bus, { scopeCacheMs: config.scopeCacheMs, orgCacheMs: config.rateLimit.orgSettingCacheMs }),
      bucket: new TokenBucket(redis),
      readiness: createReadiness({ bus, redis }),
      resources,
      metrics: gatewayMetrics(registry),
    });
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, (err?: Error) => (err ? reject(err) : resolve(s)));
    });
    // Slow-loris guard; well above any RPC timeout.
    server.requestTimeout = Math.max(30_000, config.rpcTimeoutMs * 2);
    server.headersTimeout = 20_000;
    if (config.metricsPort !== undefined && !opts.clusterWorker) metricsServer = await serveMetrics(registry, config.metricsPort);
  } catch (err) {
    await closeClients();
    throw err;
  }

  const port = (server.address() as AddressInfo).port;
  logger.info({ port, metricsPort: metricsServer?.port }, "gateway listening");

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const s = server!;
      const closed = new Promise<void>((resolve) => s.close(() => resolve()));
      s.closeIdleConnections();
      const timer = setTimeout(() => {
        logger.warn({ timeoutMs: DRAIN_TIMEOUT_MS }, "drain timeout, closing remaining connections");
        s.closeAllConnections();
      }, DRAIN_TIMEOUT_MS);
      await closed;
      clearTimeout(timer);
      await closeClients();
      logger.info("gateway stopped");
    })());

  return { port, metricsPort: metricsServer?.port, metrics: registry, stop };
}

/**
 * The store's change notifications, on a queue of this process's own. Everything cached is
 * dropped on every new connection (notifications sent while it was down are lost), and
 * while it is down the cache serves nothing (ResourceCache `live`).
 */
async function subscribeToChanges(broker: Broker, cache: ResourceCache): Promise<void> {
  await subscribeToNotifications(broker, {
    queue: `gateway.resource-changes.${newUlid()}`,
    contract: resourceEvents.changed,
    onConnect: () => cache.clear(),
    handle: (payload) => cache.invalidate(payload.resources),
  });
}
