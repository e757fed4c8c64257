import { AesGcmCipher, PURPOSES, ValueSealer } from "@pragma/crypto";
import { hostname } from "node:os";
import { Redis } from "ioredis";
import { tmpdir } from "node:os";
import path from "node:path";
import {
  DEFAULT_PACKAGE_LIMITS,
  isBuiltinProvider,
  PROVIDER_QUEUES,
  PUSHED_WORK_KEY,
  QUEUES,
  RPC_QUEUES,
  WORK_DELIVERY_LIMIT,
  providerRequests,
  pushedProviderPing,
  registryEvents,
  registryRequests,
  type DatabaseCredentials,
} from "@pragma/contracts";
import { handler } from "@pragma/messaging";
import { AppError } from "@pragma/errors";
import { newUlid } from "@pragma/ids";
import { createLogger, type Logger } from "@pragma/logger";
import { connectBroker, declareTopology, subscribeToNotifications, type Broker, type ConsumerHandle } from "@pragma/messaging";
import { PermanentError, RetryableError, type Provider } from "@pragma/provider-sdk";
import type { WorkerConfig } from "./config";
import { workerBrokerTopology } from "./amqp/topology";
import { brokerPublishers, consumeWork } from "./amqp/work.consumer";
import { workerRpcHandlers } from "./amqp/rpc.handlers";
import { consumeObservations } from "./amqp/observe.consumer";
import { autoApiHandlers } from "./amqp/auto-api.handlers";
import { SchemaCache } from "./auto-api/schema-cache";
import { introspect } from "./auto-api/introspect";
import { DatabasePools } from "./data/databases";
import { CredentialsCache } from "./data/credentials-cache";
import { redisDedupe } from "./data/dedupe.repository";
import { redisLocks } from "./data/resource-lock";
import { redisResourceLog } from "./data/resource-log.repository";
import { redisEventFinisher } from "./data/event-finisher";
import { processEvent, type ProcessDeps } from "./domain/process-event";
import { builtInProviders } from "./providers";
import { brokerConnectedMetric, createMetricsRegistry, queueDepthMetrics, rpcMetrics, serveMetrics, type MetricsServer, type Registry } from "@pragma/metrics";
import { workerMetrics } from "./metrics";
import { consumeBuilds } from "./amqp/build.consumer";
import { PushedProviders } from "./pushed/pushed-providers";

export interface RunningWorker {
  stop(): Promise<void>;
  /** Where GET /metrics answers (undefined: METRICS_PORT unset). */
  metricsPort: number | undefined;
  metrics: Registry;
}

export interface StartOptions {
  logger?: Logger;
  /** Added to (or replacing, by name) the built-in providers. */
  providers?: Provider[];
}

export async function startWorker(config: WorkerConfig, opts: StartOptions = {}): Promise<RunningWorker> {
  // No "|": lease values are `${instanceId}|${eventId}`.
  const instanceId = `${hostname()}:${process.pid}:${newUlid()}`.replace(/\|/g, "_");
  const logger = opts.logger ?? createLogger({ service: "provider-worker", level: config.LOG_LEVEL });
  const providers = new Map<string, Provider>();
  for (const p of [...builtInProviders, ...(opts.providers ?? [])]) providers.set(p.name, p);
  const unknown = config.PROVIDERS.filter((p) => !providers.has(p));
  if (unknown.length > 0) throw new Error(`PROVIDERS names unknown providers: ${unknown.join(", ")}`);
  const served = [...new Set(config.PROVIDERS)];

  // Commands fail fast while Redis is down, so a delivery is requeued rather than stuck.
  // Auto-pipelining: concurrent events' lease, dedupe and log commands share writes.
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 2, lazyConnect: true, enableAutoPipelining: true });
  redis.on("error", (err) => logger.warn({ err: err.message }, "redis error"));
  await redis.connect();

  const registry = createMetricsRegistry("provider-worker");
  const broker = await connectBroker({ url: config.AMQP_URL, logger, connectionName: `provider-worker ${instanceId}`, metrics: rpcMetrics(registry) });
  let metricsServer: MetricsServer | undefined;
  try {
    brokerConnectedMetric(registry, () => broker.isConnected());
    queueDepthMetrics(registry, () => broker.queueDepths([...served.map((p) => QUEUES.workFor(p)), ...(config.PUSHED_PROVIDERS ? [PROVIDER_QUEUES.pushedWork, PROVIDER_QUEUES.builds] : []), QUEUES.deadLetter]));
    const topology = workerBrokerTopology(served, config.RETRY_TIERS_MS, config.PUSHED_PROVIDERS);
    await broker.addTopology((ch, reopen) => declareTopology(ch, topology, reopen));

    const credentials = new CredentialsCache(
      async ({ orgId, projectId }): Promise<DatabaseCredentials[]> => {
        try {
          const r = await broker.request(RPC_QUEUES.registry, registryRequests.getCredentials, { org_id: orgId, project_id: projectId }, { timeoutMs: config.REGISTRY_TIMEOUT_MS });
          return r.databases;
        } catch (err) {
          if (err instanceof AppError && err.code === "NOT_FOUND") throw new PermanentError(`project ${projectId} not found in the registry`);
          throw new RetryableError(`registry unavailable: ${err instanceof Error ? err.message : String(err)}`);
        }
      },
      { ttlMs: config.CREDENTIALS_CACHE_MS, live: () => broker.isConnected() },
    );
    if (config.CREDENTIALS_CACHE_MS > 0) await subscribeToProjectUpdates(broker, credentials, instanceId);
    const databases = new DatabasePools(credentials.get, logger, { statementTimeoutMs: config.SQL_STATEMENT_TIMEOUT_MS });
    const schemas = new SchemaCache({ revalidateMs: config.AUTO_API_SCHEMA_REVALIDATE_MS, introspect });
    const metrics = workerMetrics(registry, providers, () => databases.stats());

    const locks = redisLocks(redis, {
      prefix: config.REDIS_PREFIX,
      instanceId,
      ttlMs: config.LOCK_TTL_MS,
      aliveTtlMs: config.ALIVE_TTL_MS,
      waitMs: config.LOCK_WAIT_MS,
      onLost: (key) => logger.warn({ resource: key }, "lost a resource lease while its hook runs"),
    });
    const heartbeat = locks.startHeartbeat();
    const shutdown = new AbortController();
    const dedupe = redisDedupe(redis, config.REDIS_PREFIX, config.DEDUPE_TTL_SECS);
    const resourceLog = redisResourceLog(redis, config.REDIS_PREFIX, config.RESOURCE_LOG_LINES, config.DEDUPE_TTL_SECS);
    if (config.encryption.fallback) logger.warn({ keyId: config.encryption.activeKeyId }, "no PRAGMA_ENCRYPTION_KEYS: opening and sealing sensitive values with the published development key");
    const sealer = new ValueSealer(new AesGcmCipher(config.encryption.keys, config.encryption.activeKeyId, PURPOSES.resourceValue));
    const deps: ProcessDeps = {
      providers,
      sealer,
      // A provider running in this process keeps its own queue; any other is a pushed one.
      ...brokerPublishers(broker, (p) => (providers.has(p) ? p : PUSHED_WORK_KEY)),
      dedupe,
      locks,
      resourceLog,
      finisher: redisEventFinisher(redis, dedupe, resourceLog, config.DEDUPE_TTL_SECS),
      database: (scope, dbType, options) => databases.open(scope, dbType, options),
      knownSecrets: () => databases.secrets(),
      logger,
      shutdown: shutdown.signal,
      tiersMs: config.RETRY_TIERS_MS,
      maxRetries: config.MAX_RETRIES,
      hookTimeoutMs: config.HOOK_TIMEOUT_MS,
      startedReportDelayMs: config.STARTED_REPORT_DELAY_MS,
      deliveryLimit: WORK_DELIVERY_LIMIT,
    };

    // Pushed providers: resolved per event from the store, run in supervised child processes.
    const pushedDir = config.PUSHED_DIR ?? path.join(tmpdir(), `pragma-pushed-${instanceId.replace(/[^A-Za-z0-9_-]/g, "_")}`);
    const sandbox = { memoryMb: config.PUSHED_MEMORY_MB, timeoutMs: config.PUSHED_HOOK_TIMEOUT_MS };
    const pushed = new PushedProviders({
      resolve: async (orgId, providerId) => {
        try {
          return await broker.request(RPC_QUEUES.resourceStore, providerRequests.resolveDeployment, { org_id: orgId, provider_id: providerId }, { timeoutMs: config.REGISTRY_TIMEOUT_MS });
        } catch (err) {
          if (err instanceof AppError && err.code === "NOT_FOUND") return null;
          throw err;
        }
      },
      artifact: async (orgId, providerId, version) =>
        (await broker.request(RPC_QUEUES.resourceStore, providerRequests.artifact, { org_id: orgId, provider_id: providerId, version }, { timeoutMs: config.REGISTRY_TIMEOUT_MS })).bundle,
      dir: path.join(pushedDir, "run"),
      sandbox,
      resolveCacheMs: config.PUSHED_RESOLVE_CACHE_MS,
      idleMs: config.PUSHED_IDLE_MS,
      logger,
    });
    // Built-in ids are reserved (and in-process providers are known here), so an unknown type of one never asks the store.
    if (config.PUSHED_PROVIDERS) deps.pushedType = async (work) => (isBuiltinProvider(work.provider) || providers.has(work.provider) ? undefined : pushed.resolveType(work.org_id, work.provider, work.resource_type));

    const consumers: ConsumerHandle[] = [];
    for (const p of served) {
      consumers.push(await consumeWork(broker, QUEUES.workFor(p), config.WORKER_CONCURRENCY, async (input) => void (await metrics.time(p, input.work, () => processEvent(deps, input)))));
    }
    // Drift: each served provider's observe queue (built-in types; pushed providers are not observed yet).
    const observeDeps = { providers, served, sealer, resourceLog: deps.resourceLog, database: deps.database, knownSecrets: deps.knownSecrets, logger, inspectTimeoutMs: config.REGISTRY_TIMEOUT_MS, defaultIntervalMs: config.OBSERVE_INTERVAL_MS };
    for (const p of served) consumers.push(await consumeObservations(broker, p, config.OBSERVE_CONCURRENCY, observeDeps, logger));
    if (config.PUSHED_PROVIDERS) {
      // One label for every org's pushed providers: their names are the orgs' to choose, so not a label.
      consumers.push(await consumeWork(broker, PROVIDER_QUEUES.pushedWork, config.WORKER_CONCURRENCY, async (input) => void (await metrics.time("pushed", input.work, () => processEvent(deps, input)))));
      consumers.push(
        await consumeBuilds(
          broker,
          {
            fetchChunk: (key, seq) => broker.request(RPC_QUEUES.resourceStore, providerRequests.buildSource, { ...key, seq }, { timeoutMs: config.REGISTRY_TIMEOUT_MS }),
            report: async (r) => void (await broker.request(RPC_QUEUES.resourceStore, providerRequests.reportBuild, r, { timeoutMs: config.REGISTRY_TIMEOUT_MS })),
            workDir: path.join(pushedDir, "build"),
            limits: DEFAULT_PACKAGE_LIMITS,
            sandbox,
          },
          logger,
          config.BUILD_CONCURRENCY,
        ),
      );
    }
    const rpc = await broker.serve(
      RPC_QUEUES.providerWorker,
      {
      ...workerRpcHandlers({ providers, served, sealer, resourceLog: deps.resourceLog, database: deps.database, knownSecrets: deps.knownSecrets, logger, inspectTimeoutMs: config.REGISTRY_TIMEOUT_MS, ...(config.PUSHED_PROVIDERS ? { pushedType: async (r) => (isBuiltinProvider(r.provider) || providers.has(r.provider) ? undefined : pushed.resolveType(r.org_id, r.provider, r.resource_type)) } : {}) }),
      ...(config.PUSHED_PROVIDERS ? { [pushedProviderPing.type]: handler(pushedProviderPing, (q) => pushed.ping(q.org_id, q.provider_id, q.version)) } : {}),
        ...autoApiHandlers({ pools: databases, schemas, secrets: () => databases.secrets(), maxInsertRows: config.AUTO_API_MAX_INSERT_ROWS }),
      },
      { prefetch: config.RPC_PREFETCH },
    );
    if (config.METRICS_PORT !== undefined) metricsServer = await serveMetrics(registry, config.METRICS_PORT);
    logger.info({ providers: served, concurrency: config.WORKER_CONCURRENCY, instanceId, metricsPort: metricsServer?.port }, "provider worker started");

    let stopping: Promise<void> | undefined;
    return {
      metricsPort: metricsServer?.port,
      metrics: registry,
      stop() {
        stopping ??= (async () => {
          logger.info({}, "provider worker stopping");
          // Stop taking work and let in-flight hooks finish; past the deadline, abort them
          // (their events go to a retry tier, or are redelivered if we cannot publish).
          const drained = Promise.all(consumers.map((c) => c.cancel()));
          let timer: NodeJS.Timeout | undefined;
          const deadline = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), config.SHUTDOWN_TIMEOUT_MS)));
          if ((await Promise.race([drained, deadline])) === "timeout") {
            logger.warn({}, "in-flight hooks still running at the shutdown deadline; aborting them");
            shutdown.abort();
            await drained;
          }
          clearTimeout(timer);
          await rpc.cancel();
          await pushed.stop();
          await broker.close();
          await databases.close();
          await heartbeat.stop();
          await redis.quit().catch(() => redis.disconnect());
          await metricsServer?.close();
          logger.info({}, "provider worker stopped");
        })();
        return stopping;
      },
    };
  } catch (err) {
    await Promise.allSettled([broker.close(), redis.quit(), metricsServer?.close()]);
    throw err;
  }
}

/**
 * The registry's project notifications, on a queue of this replica's own, so a PATCHed
 * project's credentials are fetched again on their next use. The cache is emptied on every
 * new connection: notifications sent while it was down are lost.
 */
async function subscribeToProjectUpdates(broker: Broker, cache: CredentialsCache, instanceId: string): Promise<void> {
  await subscribeToNotifications(broker, {
    queue: `provider-worker.project-updates.${instanceId}`,
    contract: registryEvents.projectUpdated,
    onConnect: () => cache.clear(),
    handle: (payload) => cache.drop(payload.project.org_id, payload.project.project_id),
    prefetch: 50,
  });
}
