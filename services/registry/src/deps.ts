import type { Logger } from "@pragma/logger";
import type { Broker } from "@pragma/messaging";
import type { RegistryConfig } from "./config";
import { AesGcmCipher, PURPOSES } from "@pragma/crypto";
import type { EventSink, RegistryDeps } from "./domain/ports";
import { PrismaApiKeyRepository } from "./data/api-key.repository";
import { DriverDatabaseProbe } from "./data/database-probe";
import { PrismaOrgRepository } from "./data/org.repository";
import { PrismaProjectRepository } from "./data/project.repository";
import type { Db } from "./data/prisma";
import { PrismaSpaceRepository } from "./data/space.repository";
import { BrokerEventSink } from "./amqp/event-sink";

export function buildCipher(config: RegistryConfig): AesGcmCipher {
  return new AesGcmCipher(config.encryption.keys, config.encryption.activeKeyId, PURPOSES.registryPassword);
}

/** The one place the real adapters are chosen; the re-encrypt command passes a no-op event sink. */
export function buildDeps(config: RegistryConfig, db: Db, events: EventSink): RegistryDeps {
  return {
    orgs: new PrismaOrgRepository(db),
    projects: new PrismaProjectRepository(db),
    spaces: new PrismaSpaceRepository(db),
    apiKeys: new PrismaApiKeyRepository(db),
    cipher: buildCipher(config),
    events,
    probe: new DriverDatabaseProbe(),
  };
}

export function brokerEvents(broker: Broker, logger: Logger): EventSink {
  return new BrokerEventSink(broker, logger);
}
