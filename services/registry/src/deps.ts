import type { RegistryConfig } from "./config";
import { AesGcmCipher, PURPOSES } from "@pragma/crypto";
import type { RegistryDeps } from "./domain/ports";
import { PrismaApiKeyRepository } from "./data/api-key.repository";
import { DriverDatabaseProbe } from "./data/database-probe";
import { PrismaOrgRepository } from "./data/org.repository";
import { PrismaProjectRepository } from "./data/project.repository";
import type { Db } from "./data/prisma";
import { PrismaSpaceRepository } from "./data/space.repository";
import { PrismaTransactor } from "./data/transactor";

export function buildCipher(config: RegistryConfig): AesGcmCipher {
  return new AesGcmCipher(config.encryption.keys, config.encryption.activeKeyId, PURPOSES.registryPassword);
}

/**
 * The one place the real adapters are chosen. Events go to the outbox table in the
 * transaction of their change; `onEventsCommitted` wakes the relay after such a commit.
 */
export function buildDeps(config: RegistryConfig, db: Db, opts: { onEventsCommitted?: () => void } = {}): RegistryDeps {
  return {
    orgs: new PrismaOrgRepository(db),
    projects: new PrismaProjectRepository(db),
    spaces: new PrismaSpaceRepository(db),
    apiKeys: new PrismaApiKeyRepository(db),
    cipher: buildCipher(config),
    tx: new PrismaTransactor(db, opts.onEventsCommitted),
    probe: new DriverDatabaseProbe(),
  };
}
