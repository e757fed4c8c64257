import path from "node:path";
import { RPC_QUEUES } from "@pragma/contracts";
import { ensureDatabase, migrate } from "@pragma/db";
import { createLogger, type Logger } from "@pragma/logger";
import { connectBroker, declareTopology, type Broker, type RpcServerHandle } from "@pragma/messaging";
import type { RegistryConfig } from "./config";
import { createPrismaClient, type Db } from "./data/prisma";
import { brokerEvents, buildDeps } from "./deps";
import { registryHandlers } from "./amqp/registry.handlers";
import { registryTopology } from "./amqp/topology";

/** Same relative path from src/ (jest, tsx) and dist/ (node). */
export const MIGRATIONS_DIR = path.join(__dirname, "..", "prisma", "migrations");

export interface RegistryHandle {
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

  let db: Db | undefined;
  let broker: Broker | undefined;
  let server: RpcServerHandle | undefined;
  const stop = async () => {
    // Stop taking requests first, then let in-flight ones finish on open connections.
    await server?.cancel().catch((err) => logger.error({ err }, "rpc server cancel failed"));
    await broker?.close().catch((err) => logger.error({ err }, "broker close failed"));
    await db?.$disconnect().catch((err) => logger.error({ err }, "database disconnect failed"));
  };
  try {
    db = createPrismaClient(config.databaseUrl, config.databaseSchema);
    broker = await connectBroker({ url: config.amqpUrl, logger, connectionName: "registry" });
    await broker.addTopology((ch, reopen) => declareTopology(ch, registryTopology, reopen));
    const deps = buildDeps(config, db, brokerEvents(broker, logger));
    server = await broker.serve(RPC_QUEUES.registry, registryHandlers(deps));
  } catch (err) {
    await stop();
    throw err;
  }
  logger.info({ queue: RPC_QUEUES.registry }, "registry serving");
  return { stop };
}
