import path from "node:path";
import { resourceEvents, resourceWork, type ResourceWork } from "@pragma/contracts";
import { AesGcmCipher, PURPOSES, ValueSealer } from "@pragma/crypto";
import { answerDatabaseOutages, checkDatabase, ensureDatabase, migrate } from "@pragma/db";
import { brokerConnectedMetric, createMetricsRegistry, pgPoolMetrics, queueDepthMetrics, rpcMetrics, serveMetrics, type Registry } from "@pragma/metrics";
import { storeMetrics } from "./metrics";
import { createLogger, type Logger } from "@pragma/logger";
import { OutboxRelay, connectBroker, declareTopology, type Broker } from "@pragma/messaging";
import { currentContext } from "@pragma/logger";
import { EXCHANGES, PROVIDER_QUEUES, QUEUES, RPC_QUEUES, providerBuildRequested, pushedProviderPing, workRoutingKey } from "@pragma/contracts";
import type { Config } from "./config";
import { createPool } from "./data/pg";
import { createPrisma } from "./data/prisma";
import { PgResourceRepository } from "./data/resource.repository";
import { OutboxRepository } from "./data/outbox.repository";
import { ChangeLogPruner, OutboxPruner } from "./outbox/outbox-pruner";
import { PgChangeLog } from "./data/change-log.repository";
import { PgHistoryReader } from "./data/resource-history.repository";
import { storeBrokerTopology, STORE_RPC_QUEUE } from "./amqp/topology";
import { resourceHandlers } from "./amqp/resource-store.handlers";
import { consumeResults } from "./amqp/results.consumer";
import { consumeObservations, observeHandlers } from "./amqp/observe.consumer";
import { ObserveScheduler } from "./observe/observe-scheduler";
import type { ResourceRecord } from "./domain/resources/model";
import { WorkerTypeCatalog } from "./amqp/worker-type-catalog";
import { consumeDeadLetters, workerAttemptHistory, workerTypeCatalog } from "./amqp/dead-letter.consumer";
import { deadLetterHandlers } from "./amqp/dead-letter.handlers";
import { PrismaDeadLetterRepository } from "./data/dead-letter.repository";
import { ChangeFeed } from "./amqp/change-feed";
import { OrgTypeCatalog } from "./amqp/org-type-catalog";
import { providerHandlers } from "./amqp/providers.handlers";
import { PgProviderRepository } from "./data/provider.repository";
import type { ProviderDeps } from "./domain/providers/deps";

export interface RunningStore {
  stop(): Promise<void>;
  broker: Broker;
  /** Where GET /metrics answers (undefined: METRICS_PORT unset). */
  metricsPort: number | undefined;
  metrics: Registry;
}

const MIGRATIONS_DIR = path.resolve(__dirname, "../prisma/migrations");

export async function startResourceStore(config: Config, opts: { logger?: Logger } = {}): Promise<RunningStore> {
  const logger = opts.logger ?? createLogger({ service: "resource-store", level: config.LOG_LEVEL });

  await ensureDatabase(config.DATABASE_URL);
  const { applied } = await migrate({ databaseUrl: config.DATABASE_URL, schema: config.DATABASE_SCHEMA, migrationsDir: MIGRATIONS_DIR, logger });
  if (applied.length > 0) logger.info({ applied }, "migrations applied");

  // Survives a database restart (see @pragma/db createPgPool): idle connections the server ends are dropped, the next query reconnects.
  const pool = createPool(config.DATABASE_URL, config.DATABASE_SCHEMA, config.DATABASE_POOL_MAX, logger);
  const prisma = createPrisma(pool, config.DATABASE_SCHEMA);
  const clock = { now: () => new Date() };
  if (config.encryption.fallback) logger.warn({ keyId: config.encryption.activeKeyId }, "no PRAGMA_ENCRYPTION_KEYS: sealing sensitive values with the published development key");
  const sealer = new ValueSealer(new AesGcmCipher(config.encryption.keys, config.encryption.activeKeyId, PURPOSES.resourceValue));
  const registry = createMetricsRegistry("resource-store");
  pgPoolMetrics(registry, { "resource-store": pool }, { "resource-store": config.DATABASE_POOL_MAX });

  const broker = await connectBroker({ url: config.AMQP_URL, logger, connectionName: "resource-store", metrics: rpcMetrics(registry) });
  brokerConnectedMetric(registry, () => broker.isConnected());
  queueDepthMetrics(registry, () => broker.queueDepths([QUEUES.results, QUEUES.deadLetter, STORE_RPC_QUEUE]));
  await broker.addTopology((ch, reopen) => declareTopology(ch, storeBrokerTopology, reopen));
  // Drift: the observation cycle's delay queues and results queue (observe-scheduler.ts).
  const observeScheduler = new ObserveScheduler(broker, { tiersMs: config.OBSERVE_TIERS_MS, defaultIntervalMs: config.OBSERVE_INTERVAL_MS }, logger);
  await broker.addTopology((ch, reopen) => declareTopology(ch, observeScheduler.topology(), reopen));
  const changes = new ChangeFeed(
    (resources) =>
      broker.publish(resourceEvents.changed, { resources }, { exchange: EXCHANGES.events, routingKey: resourceEvents.changed.type, persistent: false, mandatory: false }),
    logger,
  );
  const onChanged = changes.changed.bind(changes);
  const relayOutbox = new OutboxRepository(pool);
  const metrics = storeMetrics(registry, relayOutbox);
  const repo = new PgResourceRepository(pool, onChanged, metrics.transition);

  const relay = new OutboxRelay({
    outbox: relayOutbox,
    logger,
    pollMs: config.OUTBOX_POLL_MS,
    batchSize: config.OUTBOX_BATCH,
    onBatch: metrics.outboxPublished,
    publish: (e) =>
      broker.publish(resourceWork, e.payload as unknown as ResourceWork, {
        exchange: EXCHANGES.work,
        routingKey: workRoutingKey(e.provider),
        messageId: e.event_id,
        correlationId: e.correlation_id ?? undefined,
        headers: { "x-resource-id": e.resource_id, "x-org-id": e.org_id, "x-project-id": e.project_id, "x-space-id": e.space_id },
      }),
  });

  const pruner = new OutboxPruner({
    outbox: relayOutbox,
    logger,
    retentionMs: config.OUTBOX_RETENTION_HOURS * 3_600_000,
    intervalMs: config.OUTBOX_PRUNE_INTERVAL_MS,
  });

  const changeLog = new PgChangeLog(pool);
  const changeLogPruner = new ChangeLogPruner({
    changeLog,
    logger,
    retentionMs: config.WATCH_RETENTION_SECONDS * 1_000,
    intervalMs: config.WATCH_PRUNE_INTERVAL_MS,
  });

  const providerRepo = new PgProviderRepository(pool);
  const types = new OrgTypeCatalog(
    new WorkerTypeCatalog(broker, { ttlMs: config.TYPES_CACHE_MS, timeoutMs: config.WORKER_RPC_TIMEOUT_MS, logger }),
    (orgId) => providerRepo.deployedTypes(orgId),
    config.DEPLOYED_TYPES_CACHE_MS,
  );
  const applyDeps = {
    repo,
    changeLog,
    history: new PgHistoryReader(pool),
    clock,
    sealer,
    types,
    onEventWritten: () => relay.kick(),
    correlationId: () => currentContext()?.requestId,
  };
  // Dead letters: drained from the broker into the store; ops requests share the store's RPC queue.
  const deadLetterDeps = {
    repo: new PrismaDeadLetterRepository(prisma, pool, onChanged, metrics.transition),
    // Retries re-queue through the resources' own repository and lifecycle, as apply does.
    resources: repo,
    catalog: applyDeps.types,
    retryAllChunk: config.DEAD_LETTER_RETRY_CHUNK,
    clock,
    sealer,
    logger,
    types: workerTypeCatalog(broker, { timeoutMs: 2_000, ttlMs: 60_000 }),
    history: workerAttemptHistory(broker, { timeoutMs: 2_000 }),
    onEventWritten: () => relay.kick(),
    correlationId: () => currentContext()?.requestId,
  };

  const providerDeps: ProviderDeps = {
    providers: providerRepo,
    clock,
    publishBuild: (key) => broker.publish(providerBuildRequested, key, { exchange: "", routingKey: PROVIDER_QUEUES.builds }),
    pingWorker: (key) =>
      broker
        .request(RPC_QUEUES.providerWorker, pushedProviderPing, key, { timeoutMs: config.WORKER_RPC_TIMEOUT_MS })
        .then((r) => r.healthy)
        .catch(() => false),
    onTypesChanged: (orgId) => types.invalidate(orgId),
    resources: applyDeps,
  };
  // Cascade deletes finish here: a provider marked deleting goes once its last resource has.
  const finalizer = setInterval(() => {
    providerRepo.finalizeDeleted().catch((err: Error) => logger.warn({ err: err.message }, "finalizing deleted providers failed"));
  }, config.PROVIDER_FINALIZE_MS);
  finalizer.unref();

  const rpc = await broker.serve(
    STORE_RPC_QUEUE,
    // A database outage answers UNAVAILABLE (503 + Retry-After at the gateway), not INTERNAL.
    answerDatabaseOutages({
      ...resourceHandlers(applyDeps),
      ...deadLetterHandlers(deadLetterDeps),
      ...providerHandlers(providerDeps),
      ...observeHandlers({ repo, clock, scheduler: observeScheduler }),
    }),
    { health: async () => ({ postgres: await checkDatabase(pool) }) },
  );
  const results = await consumeResults(
    broker,
    {
      repo,
      clock,
      sealer,
      logger,
      onEventWritten: () => relay.kick(),
      onRecorded: metrics.resultRecorded,
      ...(config.OBSERVE_ENABLED ? { onObservable: (rs: ResourceRecord[]) => void Promise.all(rs.map((r) => observeScheduler.schedule(r))) } : {}),
    },
    config.RESULTS_PREFETCH,
    config.RESULTS_LINGER_MS,
  );
  const observations = await consumeObservations(broker, { repo, clock, sealer, logger, scheduler: observeScheduler, onEventWritten: () => relay.kick() }, 20);
  const deadLetters = await consumeDeadLetters(broker, { ...deadLetterDeps, onIngested: metrics.deadLetter }, 10);
  const metricsServer = config.METRICS_PORT !== undefined ? await serveMetrics(registry, config.METRICS_PORT) : undefined;
  relay.start();
  pruner.start();
  changeLogPruner.start();
  logger.info({ metricsPort: metricsServer?.port }, "resource store started");

  return {
    broker,
    metricsPort: metricsServer?.port,
    metrics: registry,
    async stop() {
      clearInterval(finalizer);
      await rpc.cancel();
      await results.cancel();
      await observations.cancel();
      await deadLetters.cancel();
      await pruner.stop();
      await changeLogPruner.stop();
      await relay.stop();
      await broker.close();
      await prisma.$disconnect();
      await pool.end();
      await metricsServer?.close();
      logger.info({}, "resource store stopped");
    },
  };
}
