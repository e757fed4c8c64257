import type { AddressInfo } from "node:net";
import type { Server } from "node:http";
import { Redis } from "ioredis";
import { createLogger, type Logger } from "@pragma/logger";
import { connectBroker, subscribeToNotifications, type Broker } from "@pragma/messaging";
import { MAX_TOKEN_TTL_SECONDS, type GatewayConfig } from "./config";
import { createApp } from "./http/app";
import { createBus } from "./amqp/bus";
import { TokenService } from "./auth/tokens";
import { RevokedKeys } from "./auth/revoked-keys";
import { Tenancy } from "./domain/tenancy";
import { TokenBucket } from "./rate-limit/token-bucket";
import { createReadiness } from "./domain/readiness";
import { ResourceCache } from "./domain/resource-cache";
import { RPC_QUEUES, registryEvents, registryRequests, resourceEvents, resourceRequests } from "@pragma/contracts";
import { WatchHub } from "./watch/watch-hub";
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
  let revokedKeys: RevokedKeys | undefined;
  let watch: WatchHub | undefined;

  let metricsServer: MetricsServer | undefined;
  const registry = createMetricsRegistry("gateway");
  if (opts.clusterWorker) {
    AggregatorRegistry.setRegistries([registry]);
    // Its constructor is what makes a cluster worker answer the primary's requests for metrics.
    new AggregatorRegistry();
  }

  const closeClients = async () => {
    revokedKeys?.stop();
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
    watch = new WatchHub((scope, after, filter) => bus.call(RPC_QUEUES.resourceStore, resourceRequests.changes, { scope, after, ...filter }), config.watch, logger);
    await subscribeToChanges(broker, resources, watch);
    revokedKeys = new RevokedKeys({
      list: async (since) => (await bus.call(RPC_QUEUES.registry, registryRequests.listRevokedApiKeys, { since: since.toISOString() })).keys,
      // A token issued just before (or racing with) the revocation lives at most the ceiling, give or take the skew.
      retainMs: (MAX_TOKEN_TTL_SECONDS + config.jwt.clockSkewSeconds + 60) * 1000,
      resyncMs: config.revocationResyncMs,
      logger,
    });
    await subscribeToRevocations(broker, revokedKeys);
    const app = createApp({
      config,
      logger,
      bus,
      tokens: new TokenService(config.jwt),
      revokedKeys,
      tenancy: new Tenancy(bus, { scopeCacheMs: config.scopeCacheMs, orgCacheMs: config.rateLimit.orgSettingCacheMs }),
      bucket: new TokenBucket(redis),
      readiness: createReadiness({ bus, redis }),
      resources,
      watch,
      metrics: gatewayMetrics(registry),
    });
    server = await new Promise<Server>((resolve, reject) => {
      const s = app.listen(config.port, (err?: Error) => (err ? reject(err) : resolve(s)));
    });
    // Slow-loris guard; well above any RPC timeout.
    server.requestTimeout = Math.max(30_000, config.rpcTimeoutMs * 2);
    server.headersTimeout = 20_000;
    // Idle keep-alive connections live 65 s (Node's default is 5 s). A client reusing a
    // connection just as the server closes it gets "other side closed" with no answer (the
    // chaos broker-restart run saw one, on a POST no client retries by itself); clients
    // (undici, browsers, load balancers at 60 s) close theirs first when ours outlives them.
    server.keepAliveTimeout = 65_000;
    if (config.metricsPort !== undefined && !opts.clusterWorker) metricsServer = await serveMetrics(registry, config.metricsPort);
  } catch (err) {
    watch?.closeAll();
    await closeClients();
    throw err;
  }

  const port = (server.address() as AddressInfo).port;
  logger.info({ port, metricsPort: metricsServer?.port }, "gateway listening");

  let stopping: Promise<void> | undefined;
  const stop = () =>
    (stopping ??= (async () => {
      const s = server!;
      // Streams never end by themselves; their clients resume elsewhere with Last-Event-ID.
      watch?.closeAll();
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
 * while it is down the cache serves nothing (ResourceCache `live`); watch streams re-read
 * their scopes then, and on every notification naming one.
 */
async function subscribeToChanges(broker: Broker, cache: ResourceCache, watch: WatchHub): Promise<void> {
  await subscribeToNotifications(broker, {
    queue: `gateway.resource-changes.${newUlid()}`,
    contract: resourceEvents.changed,
    onConnect: () => {
      cache.clear();
      watch.pollAll();
    },
    handle: (payload) => {
      cache.invalidate(payload.resources);
      watch.notify(payload.resources);
    },
  });
}

/**
 * The registry's key revocations, on a queue of this process's own. On every new connection
 * the list stops being trusted before the queue is bound again (onConnect), and is read
 * again from the registry once it is bound (the topology function after it), so a
 * revocation is either in that read or arrives on the queue.
 */
async function subscribeToRevocations(broker: Broker, revoked: RevokedKeys): Promise<void> {
  await subscribeToNotifications(broker, {
    queue: `gateway.key-revocations.${newUlid()}`,
    contract: registryEvents.apiKeyRevoked,
    onConnect: () => revoked.invalidate(),
    handle: (payload) => revoked.add(payload.key_id, payload.revoked_at),
  });
  await broker.addTopology(async () => revoked.reconnected());
}
