import path from "node:path";
import { RPC_QUEUES } from "@pragma/contracts";
import { answerDatabaseOutages, checkDatabase, ensureDatabase, migrate } from "@pragma/db";
import { brokerConnectedMetric, createMetricsRegistry, pgPoolMetrics, queueDepthMetrics, rpcMetrics, serveMetrics, type MetricsServer } from "@pragma/metrics";
import type { Pool } from "pg";
import { createLogger, type Logger } from "@pragma/logger";
import { OutboxRelay, connectBroker, declareTopology, type Broker, type RpcServerHandle } from "@pragma/messaging";
import type { RegistryConfig } from "./config";
import { createPool, createPrismaClient, type Db } from "./data/prisma";
import { buildDeps } from "./deps";
import { PrismaOutboxSource, type RegistryOutboxEvent } from "./data/outbox.repository";
import { publishRegistryEvent } from "./amqp/event-publisher";
import { registryHandlers } from "./amqp/registry.handlers";
import { registryTopology } from "./amqp/topology";

/** Same relative path from src/ (jest, tsx) and dist/ (node). */
export const MIGRATIONS_DIR = path.join(__dirname, "..", "prisma", "migrations");

/** Bound on one event's publish confirm; a batch holds its claim transaction at most this plus 10 s. */
const OUTBOX_PUBLISH_TIMEOUT_MS = 5_000;

export interface RegistryHandle {
  /** Where GET /metrics answers (undefined: METRICS_PORT unset). */
  metricsPort: number | undefined;
  stop(): Promise<void>;
}

export async function startRegistry(config: RegistryConfig, opts: { logger?: Logger } = {}): Promise<RegistryHandle> {
  const logger = opts.logger ?? createLogger({ service: "registry", level: config.logLevel });
  if (config.encryption.ephemeralKey) {
    logger.warn({ keyId: config.encryption.activeKeyId }, "no PRAGMA_ENCRYPTION_KEYS: generated an ephemeral key; stored passwords are unreadable after a restart");
  }

  await ensureDatabase(config.databaseUrl);
  const { applied } = await migrate({ databaseUrl: config.databaseUrl, schema: config.databaseSchema, migrationsDir: MIGRATIONS_DIR, logger });
  logger.info({ schema: config.databaseSchema, applied }, "database ready");

  let pool: Pool | undefined;
  let db: Db | undefined;
  let broker: Broker | undefined;
  let server: RpcServerHandle | undefined;
  let relay: OutboxRelay<RegistryOutboxEvent> | undefined;
  let metricsServer: MetricsServer | undefined;
  const metrics = createMetricsRegistry("registry");
  const stop = async () => {
    // Stop taking requests first, then let in-flight ones finish on open connections.
    await server?.cancel().catch((err) => logger.error({ err }, "rpc server cancel failed"));
    // Whatever the relay has not published stays in the outbox for the next process.
    await relay?.stop().catch((err) => logger.error({ err }, "outbox relay stop failed"));
    await broker?.close().catch((err) => logger.error({ err }, "broker close failed"));
    await db?.$disconnect().catch((err) => logger.error({ err }, "database disconnect failed"));
    await pool?.end().catch((err) => logger.error({ err }, "database pool close failed"));
    await metricsServer?.close();
  };
  try {
    // Survives a database restart (see @pragma/db createPgPool): idle connections the server ends are dropped, the next query reconnects.
    pool = createPool(config.databaseUrl, logger);
    const dbPool = pool;
    pgPoolMetrics(metrics, { registry: dbPool });
    db = createPrismaClient(dbPool, config.databaseSchema);
    broker = await connectBroker({ url: config.amqpUrl, logger, connectionName: "registry", metrics: rpcMetrics(metrics) });
    const bus = broker;
    brokerConnectedMetric(metrics, () => bus.isConnected());
    queueDepthMetrics(metrics, () => bus.queueDepths([RPC_QUEUES.registry]));
    await broker.addTopology((ch, reopen) => declareTopology(ch, registryTopology, reopen));
    relay = new OutboxRelay({
      outbox: new PrismaOutboxSource(db, config.databaseSchema, OUTBOX_PUBLISH_TIMEOUT_MS + 10_000),
      publish: publishRegistryEvent(broker),
      logger,
      pollMs: config.outbox.pollMs,
      batchSize: config.outbox.batchSize,
      publishTimeoutMs: OUTBOX_PUBLISH_TIMEOUT_MS,
    });
    const deps = buildDeps(config, db, { onEventsCommitted: () => relay?.kick() });
    // A database outage answers UNAVAILABLE (503 + Retry-After at the gateway), not INTERNAL.
    server = await broker.serve(RPC_QUEUES.registry, answerDatabaseOutages(registryHandlers(deps)), { health: async () => ({ postgres: await checkDatabase(dbPool) }) });
    relay.start();
    if (config.metricsPort !== undefined) metricsServer = await serveMetrics(metrics, config.metricsPort);
  } catch (err) {
    await stop();
    throw err;
  }
  logger.info({ queue: RPC_QUEUES.registry, metricsPort: metricsServer?.port }, "registry serving");
  return { metricsPort: metricsServer?.port, stop };
}
