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
import { redisEventLedger, workResourceLog } from "./data/event-ledger";
import { processEvent, type ProcessDeps } from "./domain/process-event";
import { CrashIsolation } from "./domain/crash-isolation";

/** Waits (in the first delay tier) after which an event whose run crashed runs beside other hooks instead of alone. */
const SUSPECT_ISOLATION_WAITS = 30;
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
  const logger = opts.logger ?? createLogger({ service: "provider-worker", level: config.logLevel });
  const providers = new Map<string, Provider>();
  for (const p of [...builtInProviders, ...(opts.providers ?? [])]) providers.set(p.name, p);
  const unknown = config.providers.filter((p) => !providers.has(p));
  if (unknown.length > 0) throw new Error(`PROVIDERS names unknown providers: ${unknown.join(", ")}`);
  const served = [...new Set(config.providers)];

  // Commands fail fast while Redis is down, so a delivery is requeued rather than stuck.
  // Auto-pipelining: concurrent events' lease, dedupe and log commands share writes.
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, lazyConnect: true, enableAutoPipelining: true });
  redis.on("error", (err) => logger.warn({ err: err.message }, "redis error"));
  await redis.connect();

  const registry = createMetricsRegistry("provider-worker");
  const broker = await connectBroker({ url: config.amqpUrl, logger, connectionName: `provider-worker ${instanceId}`, metrics: rpcMetrics(registry) });
  let metricsServer: MetricsServer | undefined;
  try {
    brokerConnectedMetric(registry, () => broker.isConnected());
    queueDepthMetrics(registry, () => broker.queueDepths([...served.map((p) => QUEUES.workFor(p)), ...(config.pushedProviders ? [PROVIDER_QUEUES.pushedWork, PROVIDER_QUEUES.builds] : []), QUEUES.deadLetter]));
    const topology = workerBrokerTopology(served, config.retryTiersMs, config.pushedProviders);
    await broker.addTopology((ch, reopen) => declareTopology(ch, topology, reopen));

    const credentials = new CredentialsCache(
      async ({ orgId, projectId }): Promise<DatabaseCredentials[]> => {
        try {
          const r = await broker.request(RPC_QUEUES.registry, registryRequests.getCredentials, { org_id: orgId, project_id: projectId }, { timeoutMs: config.registryTimeoutMs });
          return r.databases;
        } catch (err) {
          if (err instanceof AppError && err.code === "NOT_FOUND") throw new PermanentError(`project ${projectId} not found in the registry`);
          throw new RetryableError(`registry unavailable: ${err instanceof Error ? err.message : String(err)}`);
        }
      },
      { ttlMs: config.credentialsCacheMs, live: () => broker.isConnected() },
    );
    if (config.credentialsCacheMs > 0) await subscribeToProjectUpdates(broker, credentials, instanceId);
    const databases = new DatabasePools(credentials.get, logger, { statementTimeoutMs: config.sqlStatementTimeoutMs });
    const schemas = new SchemaCache({ revalidateMs: config.autoApiSchemaRevalidateMs, introspect });
    const metrics = workerMetrics(registry, providers, () => databases.stats());

    const locks = redisLocks(redis, {
      prefix: config.redisPrefix,
      instanceId,
      ttlMs: config.lockTtlMs,
      aliveTtlMs: config.aliveTtlMs,
      runsTtlSecs: config.dedupeTtlSecs,
      onLost: (key) => logger.warn({ resource: key }, "lost a resource lease while its hook runs"),
    });
    const heartbeat = locks.startHeartbeat();
    const shutdown = new AbortController();
    const dedupe = redisDedupe(redis, config.redisPrefix, config.dedupeTtlSecs);
    const resourceLog = redisResourceLog(redis, config.redisPrefix, config.resourceLogLines, config.dedupeTtlSecs);
    if (config.encryption.fallback) logger.warn({ keyId: config.encryption.activeKeyId }, "no PRAGMA_ENCRYPTION_KEYS: opening and sealing sensitive values with the published development key");
    const sealer = new ValueSealer(new AesGcmCipher(config.encryption.keys, config.encryption.activeKeyId, PURPOSES.resourceValue));
    const deps: ProcessDeps = {
      providers,
      sealer,
      // A provider running in this process keeps its own queue; any other is a pushed one.
      ...brokerPublishers(broker, (p) => (providers.has(p) ? p : PUSHED_WORK_KEY)),
      ledger: redisEventLedger(locks, dedupe, redisEventFinisher(redis, dedupe, resourceLog, config.dedupeTtlSecs)),
      resourceLog: workResourceLog(resourceLog),
      database: (scope, dbType, options) => databases.open(scope, dbType, options),
      knownSecrets: () => databases.secrets(),
      logger,
      shutdown: shutdown.signal,
      tiersMs: config.retryTiersMs,
      maxRetries: config.maxRetries,
      hookTimeoutMs: config.hookTimeoutMs,
      startedReportDelayMs: config.startedReportDelayMs,
      deliveryLimit: WORK_DELIVERY_LIMIT,
      isolationWaits: SUSPECT_ISOLATION_WAITS,
      hooks: new CrashIsolation(),
    };

    // Pushed providers: resolved per event from the store, run in supervised child processes.
    const pushedDir = config.pushedDir ?? path.join(tmpdir(), `pragma-pushed-${instanceId.replace(/[^A-Za-z0-9_-]/g, "_")}`);
    const sandbox = { memoryMb: config.pushedMemoryMb, timeoutMs: config.pushedHookTimeoutMs };
    const pushed = new PushedProviders({
      resolve: async (orgId, providerId) => {
        try {
          return await broker.request(RPC_QUEUES.resourceStore, providerRequests.resolveDeployment, { org_id: orgId, provider_id: providerId }, { timeoutMs: config.registryTimeoutMs });
        } catch (err) {
          if (err instanceof AppError && err.code === "NOT_FOUND") return null;
          throw err;
        }
      },
      artifact: async (orgId, providerId, version) =>
        (await broker.request(RPC_QUEUES.resourceStore, providerRequests.artifact, { org_id: orgId, provider_id: providerId, version }, { timeoutMs: config.registryTimeoutMs })).bundle,
      dir: path.join(pushedDir, "run"),
      sandbox,
      resolveCacheMs: config.pushedResolveCacheMs,
      idleMs: config.pushedIdleMs,
      logger,
    });
    // Built-in ids are reserved (and in-process providers are known here), so an unknown type of one never asks the store.
    if (config.pushedProviders) deps.pushedType = async (work) => (isBuiltinProvider(work.provider) || providers.has(work.provider) ? undefined : pushed.resolveType(work.org_id, work.provider, work.resource_type));

    const consumers: ConsumerHandle[] = [];
    for (const p of served) {
      consumers.push(await consumeWork(broker, QUEUES.workFor(p), config.workerConcurrency, async (input) => void (await metrics.time(p, input.work, () => processEvent(deps, input)))));
    }
    // Drift: each served provider's observe queue (built-in types; pushed providers are not observed yet).
    const observeDeps = { providers, served, sealer, resourceLog, database: deps.database, knownSecrets: deps.knownSecrets, logger, inspectTimeoutMs: config.registryTimeoutMs, defaultIntervalMs: config.observeIntervalMs };
    for (const p of served) consumers.push(await consumeObservations(broker, p, config.observeConcurrency, observeDeps, logger));
    if (config.pushedProviders) {
      // One label for every org's pushed providers: their names are the orgs' to choose, so not a label.
      consumers.push(await consumeWork(broker, PROVIDER_QUEUES.pushedWork, config.workerConcurrency, async (input) => void (await metrics.time("pushed", input.work, () => processEvent(deps, input)))));
      consumers.push(
        await consumeBuilds(
          broker,
          {
            fetchChunk: (key, seq) => broker.request(RPC_QUEUES.resourceStore, providerRequests.buildSource, { ...key, seq }, { timeoutMs: config.registryTimeoutMs }),
            report: async (r) => void (await broker.request(RPC_QUEUES.resourceStore, providerRequests.reportBuild, r, { timeoutMs: config.registryTimeoutMs })),
            workDir: path.join(pushedDir, "build"),
            limits: DEFAULT_PACKAGE_LIMITS,
            sandbox,
          },
          logger,
          config.buildConcurrency,
        ),
      );
    }
    const rpc = await broker.serve(
      RPC_QUEUES.providerWorker,
      {
      ...workerRpcHandlers({ providers, served, sealer, resourceLog, database: deps.database, knownSecrets: deps.knownSecrets, logger, inspectTimeoutMs: config.registryTimeoutMs, ...(config.pushedProviders ? { pushedType: async (r) => (isBuiltinProvider(r.provider) || providers.has(r.provider) ? undefined : pushed.resolveType(r.org_id, r.provider, r.resource_type)) } : {}) }),
      ...(config.pushedProviders ? { [pushedProviderPing.type]: handler(pushedProviderPing, (q) => pushed.ping(q.org_id, q.provider_id, q.version)) } : {}),
        ...autoApiHandlers({ pools: databases, schemas, secrets: () => databases.secrets(), maxInsertRows: config.autoApiMaxInsertRows }),
      },
      { prefetch: config.rpcPrefetch },
    );
    if (config.metricsPort !== undefined) metricsServer = await serveMetrics(registry, config.metricsPort);
    logger.info({ providers: served, concurrency: config.workerConcurrency, instanceId, metricsPort: metricsServer?.port }, "provider worker started");

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
          const deadline = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), config.shutdownTimeoutMs)));
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
