import path from "node:path";
import { EXCHANGES, RPC_QUEUES } from "@pragma/contracts";
import { checkDatabase, ensureDatabase, migrate } from "@pragma/db";
import { brokerConnectedMetric, createMetricsRegistry, pgPoolMetrics, queueDepthMetrics, rpcMetrics, serveMetrics, type MetricsServer } from "@pragma/metrics";
import type { Pool } from "pg";
import { createLogger, type Logger } from "@pragma/logger";
import { connectBroker, declareTopology, rpcQueueTopology, type Broker, type RpcServerHandle } from "@pragma/messaging";
import type { RegistryConfig } from "./config";
import { createPool, createPrismaClient, type Db } from "./data/prisma";
import { brokerEvents, buildDeps } from "./deps";
import { registryHandlers } from "./amqp/registry.handlers";

/** Same relative path from src/ (jest, tsx) and dist/ (node). */
export const MIGRATIONS_DIR = path.join(__dirname, "..", "prisma", "migrations");

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
  let metricsServer: MetricsServer | undefined;
  const metrics = createMetricsRegistry("registry");
  const stop = async () => {
    // Stop taking requests first, then let in-flight ones finish on open connections.
    await server?.cancel().catch((err) => logger.error({ err }, "rpc server cancel failed"));
    await broker?.close().catch((err) => logger.error({ err }, "broker close failed"));
    await db?.$disconnect().catch((err) => logger.error({ err }, "database disconnect failed"));
    await pool?.end().catch((err) => logger.error({ err }, "database pool close failed"));
    await metricsServer?.close();
  };
  try {
    pool = createPool(config.databaseUrl);
    const dbPool = pool;
    // An idle connection the server dropped must not crash the process; the next query reconnects.
    dbPool.on("error", (err) => logger.warn({ err: err.message }, "idle database connection lost"));
    pgPoolMetrics(metrics, { registry: dbPool });
    db = createPrismaClient(dbPool, config.databaseSchema);
    broker = await connectBroker({ url: config.amqpUrl, logger, connectionName: "registry", metrics: rpcMetrics(metrics) });
    const bus = broker;
    brokerConnectedMetric(metrics, () => bus.isConnected());
    queueDepthMetrics(metrics, () => bus.queueDepths([RPC_QUEUES.registry]));
    await broker.addTopology(async (ch) => {
      await rpcQueueTopology(RPC_QUEUES.registry)(ch);
      await declareTopology(ch, { exchanges: [{ name: EXCHANGES.events, type: "topic" }], queues: [], bindings: [] });
    });
    const deps = buildDeps(config, db, brokerEvents(broker, logger));
    server = await broker.serve(RPC_QUEUES.registry, registryHandlers(deps), { health: async () => ({ postgres: await checkDatabase(dbPool) }) });
    if (config.metricsPort !== undefined) metricsServer = await serveMetrics(metrics, config.metricsPort);
  } catch (err) {
    await stop();
    throw err;
  }
  logger.info({ queue: RPC_QUEUES.registry, metricsPort: metricsServer?.port }, "registry serving");
  return { metricsPort: metricsServer?.port, stop };
}
