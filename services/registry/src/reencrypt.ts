/**
 * `node dist/reencrypt.js`: re-encrypts every stored database password under
 * PRAGMA_ENCRYPTION_ACTIVE_KEY. Needs the same config as the service, with the old
 * key(s) still listed in PRAGMA_ENCRYPTION_KEYS so existing rows can be read.
 */
import { ensureDatabase, migrate } from "@pragma/db";
import { createLogger, type Logger } from "@pragma/logger";
import { readConfig, type RegistryConfig } from "./config";
import { buildCipher } from "./deps";
import { createPool, createPrismaClient } from "./data/prisma";
import { PrismaProjectRepository } from "./data/project.repository";
import { reencryptPasswords, type ReencryptResult } from "./domain/credentials/reencrypt-passwords";
import { MIGRATIONS_DIR } from "./service";

export async function runReencrypt(config: RegistryConfig, logger: Logger): Promise<ReencryptResult> {
  if (config.encryption.ephemeralKey) throw new Error("PRAGMA_ENCRYPTION_KEYS is not set: nothing to re-encrypt with");
  await ensureDatabase(config.databaseUrl);
  // A fresh database has nothing to re-encrypt, but the tables must exist to say so.
  await migrate({ databaseUrl: config.databaseUrl, schema: config.databaseSchema, migrationsDir: MIGRATIONS_DIR, logger });
  const pool = createPool(config.databaseUrl, logger);
  const db = createPrismaClient(pool, config.databaseSchema);
  try {
    const result = await reencryptPasswords({ projects: new PrismaProjectRepository(db), cipher: buildCipher(config) });
    logger.info({ ...result, activeKeyId: config.encryption.activeKeyId }, "passwords re-encrypted");
    return result;
  } finally {
    await db.$disconnect();
    await pool.end();
  }
}

if (require.main === module) {
  const config = readConfig();
  const logger = createLogger({ service: "registry-reencrypt", level: config.logLevel });
  runReencrypt(config, logger).then(
    () => process.exit(0),
    (err: unknown) => {
      logger.error({ err }, "re-encryption failed");
      process.exit(1);
    },
  );
}
