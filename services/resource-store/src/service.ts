import path from "node:path";
import { HEADERS, resourceEvents, resourceWork, type ResourceWork } from "@pragma/contracts";
import { AesGcmCipher, PURPOSES, ValueSealer } from "@pragma/crypto";
import { answerDatabaseOutages, checkDatabase, ensureDatabase, migrate } from "@pragma/db";
import { brokerConnectedMetric, createMetricsRegistry, pgPoolMetrics, queueDepthMetrics, rpcMetrics, serveMetrics, type Registry } from "@pragma/metrics";
import { storeMetrics } from "./metrics";
import { createLogger, type Logger } from "@pragma/logger";
import { OutboxRelay, connectBroker, declareTopology, type Broker } from "@pragma/messaging";
import { currentContext } from "@pragma/logger";
import { QUEUES, RPC_QUEUES, providerBuildRequested, pushedProviderPing } from "@pragma/contracts";
import type { StoreConfig } from "./config";
import { createPool } from "./data/pg";
import { createPrisma } from "./data/prisma";
import { PgResourceRepository } from "./data/resource.repository";
import { OutboxRepository } from "./data/outbox.repository";
import { ChangeLogPruner, OutboxPruner, RequestAnswerPruner } from "./outbox/outbox-pruner";
import { PgRequestAnswers } from "./data/request-answers.repository";
import { PgChangeLog } from "./data/change-log.repository";
import { PgHistoryReader } from "./data/resource-history.repository";
import { storeBrokerTopology, STORE_RPC_QUEUE } from "./amqp/topology";
import { resourceHandlers } from "./amqp/resource-store.handlers";
import { consumeResults } from "./amqp/results.consumer";
import { consumeObservations, observeHandlers } from "./amqp/observe.consumer";
import { ObserveScheduler } from "./observe/observe-scheduler";
import { ObserveSweeper } from "./observe/observe-sweeper";
import { PgOverdueObservations } from "./data/observation-sweep.repository";
import type { ResourceRecord } from "./domain/resources/model";
import { WorkerTypeCatalog } from "./amqp/worker-type-catalog";
import { consumeDeadLetters, workerTypeCatalog } from "./amqp/dead-letter.consumer";
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

export async function startResourceStore(config: StoreConfig, opts: { logger?: Logger } = {}): Promise<RunningStore> {
  const logger = opts.logger ?? createLogger({ service: "resource-store", level: config.logLevel });

  await ensureDatabase(config.databaseUrl);
  const { applied } = await migrate({ databaseUrl: config.databaseUrl, schema: config.databaseSchema, migrationsDir: MIGRATIONS_DIR, logger });
  if (applied.length > 0) logger.info({ applied }, "migrations applied");

  // Survives a database restart (see @pragma/db createPgPool): idle connections the server ends are dropped, the next query reconnects.
  const pool = createPool(config.databaseUrl, config.databaseSchema, config.databasePoolMax, logger);
  const prisma = createPrisma(pool, config.databaseSchema);
  const clock = { now: () => new Date() };
  if (config.encryption.fallback) logger.warn({ keyId: config.encryption.activeKeyId }, "no PRAGMA_ENCRYPTION_KEYS: sealing sensitive values with the published development key");
  const sealer = new ValueSealer(new AesGcmCipher(config.encryption.keys, config.encryption.activeKeyId, PURPOSES.resourceValue));
  const registry = createMetricsRegistry("resource-store");
  pgPoolMetrics(registry, { "resource-store": pool }, { "resource-store": config.databasePoolMax });

  const broker = await connectBroker({ url: config.amqpUrl, logger, connectionName: "resource-store", metrics: rpcMetrics(registry) });
  brokerConnectedMetric(registry, () => broker.isConnected());
  queueDepthMetrics(registry, () => broker.queueDepths([QUEUES.results, QUEUES.deadLetter, STORE_RPC_QUEUE]));
  await broker.addTopology((ch, reopen) => declareTopology(ch, storeBrokerTopology, reopen));
  // Drift: the observation cycle's delay queues and results queue (observe-scheduler.ts).
  const observeScheduler = new ObserveScheduler(broker, { tiersMs: config.observeTiersMs, defaultIntervalMs: config.observeIntervalMs }, logger);
  await broker.addTopology((ch, reopen) => declareTopology(ch, observeScheduler.topology(), reopen));
  const changes = new ChangeFeed(
    (resources) =>
      broker.publish(resourceEvents.changed, { resources }, { persistent: false, mandatory: false }),
    logger,
  );
  const onChanged = changes.changed.bind(changes);
  const relayOutbox = new OutboxRepository(pool);
  const metrics = storeMetrics(registry, relayOutbox);
  const repo = new PgResourceRepository(pool, onChanged, metrics.transition);

  const relay = new OutboxRelay({
    outbox: relayOutbox,
    logger,
    pollMs: config.outboxPollMs,
    batchSize: config.outboxBatch,
    onBatch: metrics.outboxPublished,
    publish: (e) =>
      broker.publish(resourceWork, e.payload as unknown as ResourceWork, {
        messageId: e.event_id,
        correlationId: e.correlation_id ?? undefined,
        headers: { [HEADERS.resourceId]: e.resource_id, [HEADERS.orgId]: e.org_id, [HEADERS.projectId]: e.project_id, [HEADERS.spaceId]: e.space_id },
      }),
  });

  const pruner = new OutboxPruner({
    outbox: relayOutbox,
    logger,
    retentionMs: config.outboxRetentionHours * 3_600_000,
    intervalMs: config.outboxPruneIntervalMs,
  });

  const answerPruner = new RequestAnswerPruner({
    answers: new PgRequestAnswers(pool),
    logger,
    retentionMs: config.requestAnswerRetentionHours * 3_600_000,
    intervalMs: config.outboxPruneIntervalMs,
  });

  const changeLog = new PgChangeLog(pool);
  const changeLogPruner = new ChangeLogPruner({
    changeLog,
    logger,
    retentionMs: config.watchRetentionSeconds * 1_000,
    intervalMs: config.watchPruneIntervalMs,
  });

  const providerRepo = new PgProviderRepository(pool);
  const types = new OrgTypeCatalog(
    new WorkerTypeCatalog(broker, { ttlMs: config.typesCacheMs, timeoutMs: config.workerRpcTimeoutMs, logger }),
    (orgId) => providerRepo.deployedTypes(orgId),
    config.deployedTypesCacheMs,
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
    repo: new PrismaDeadLetterRepository(prisma),
    // Ingest and retries write resource state through the resources' own repository and lifecycle, as apply does.
    resources: repo,
    catalog: applyDeps.types,
    retryAllChunk: config.deadLetterRetryChunk,
    clock,
    sealer,
    logger,
    types: workerTypeCatalog(broker, { timeoutMs: 2_000, ttlMs: 60_000 }),
    onEventWritten: () => relay.kick(),
    correlationId: () => currentContext()?.requestId,
  };

  const providerDeps: ProviderDeps = {
    providers: providerRepo,
    clock,
    publishBuild: (key) => broker.publish(providerBuildRequested, key),
    pingWorker: (key) =>
      broker
        .request(RPC_QUEUES.providerWorker, pushedProviderPing, key, { timeoutMs: config.workerRpcTimeoutMs })
        .then((r) => r.healthy)
        .catch(() => false),
    onTypesChanged: (orgId) => types.invalidate(orgId),
    resources: applyDeps,
  };
  // Cascade deletes finish here: a provider marked deleting goes once its last resource has.
  const finalizer = setInterval(() => {
    providerRepo.finalizeDeleted().catch((err: Error) => logger.warn({ err: err.message }, "finalizing deleted providers failed"));
  }, config.providerFinalizeMs);
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
      ...(config.observeEnabled ? { onObservable: (rs: ResourceRecord[]) => void Promise.all(rs.map((r) => observeScheduler.schedule(r))) } : {}),
    },
    config.resultsPrefetch,
    config.resultsLingerMs,
  );
  const observations = await consumeObservations(broker, { repo, clock, sealer, logger, scheduler: observeScheduler, overdueGraceMs: config.observeOverdueGraceMs, onEventWritten: () => relay.kick() }, 20);
  const observeSweeper = config.observeEnabled
    ? new ObserveSweeper({
        overdue: new PgOverdueObservations(pool),
        repo,
        clock,
        scheduler: observeScheduler,
        logger,
        intervalMs: config.observeIntervalMs,
        overdueGraceMs: config.observeOverdueGraceMs,
        everyMs: config.observeSweepIntervalMs,
        batch: config.observeSweepBatch,
      })
    : undefined;
  const deadLetters = await consumeDeadLetters(broker, { ...deadLetterDeps, onIngested: metrics.deadLetter }, 10);
  const metricsServer = config.metricsPort !== undefined ? await serveMetrics(registry, config.metricsPort) : undefined;
  relay.start();
  pruner.start();
  answerPruner.start();
  changeLogPruner.start();
  observeSweeper?.start();
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
      await answerPruner.stop();
      await changeLogPruner.stop();
      await observeSweeper?.stop();
      await relay.stop();
      await broker.close();
      await prisma.$disconnect();
      await pool.end();
      await metricsServer?.close();
      logger.info({}, "resource store stopped");
    },
  };
}
