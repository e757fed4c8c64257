import { randomUUID } from "node:crypto";
import { Client, escapeIdentifier } from "pg";
import { migrationChecksum } from "./checksum";
import { MigrationError } from "./errors";
import { readMigrationsDir } from "./migrations-dir";
import { planMigrations, type AppliedMigration } from "./plan";

/** The subset of a pino logger the runner uses, so this package does not depend on pino. */
export interface MigrationLogger {
  info(obj: Record<string, unknown>, msg: string): void;
}

export interface MigrateOptions {
  databaseUrl: string;
  /** Postgres schema the service owns; created if missing and holds its `_prisma_migrations`. */
  schema: string;
  /** A Prisma `prisma/migrations` folder. */
  migrationsDir: string;
  logger?: MigrationLogger;
}

export interface MigrateResult {
  /** Names of the migrations this call applied, in order; empty when the database was current. */
  applied: string[];
}

/**
 * Byte-for-byte the table `prisma migrate deploy` creates and reads, so either tool can
 * take over a database the other migrated.
 */
export function prismaMigrationsTableDdl(schema: string): string {
  return `CREATE TABLE IF NOT EXISTS ${escapeIdentifier(schema)}."_prisma_migrations" (
    "id"                    VARCHAR(36) PRIMARY KEY NOT NULL,
    "checksum"              VARCHAR(64) NOT NULL,
    "finished_at"           TIMESTAMPTZ,
    "migration_name"        VARCHAR(255) NOT NULL,
    "logs"                  TEXT,
    "rolled_back_at"        TIMESTAMPTZ,
    "started_at"            TIMESTAMPTZ NOT NULL DEFAULT now(),
    "applied_steps_count"   INTEGER NOT NULL DEFAULT 0
)`;
}

/**
 * Applies the pending migrations of `migrationsDir` to `schema`, each in its own
 * transaction together with its `_prisma_migrations` row, so a migration is either
 * fully applied and recorded or not at all. Replicas starting together queue on an
 * advisory lock keyed on the schema name; the later ones find nothing left to do.
 */
export async function migrate(options: MigrateOptions): Promise<MigrateResult> {
  const { databaseUrl, schema, migrationsDir, logger } = options;
  // Read the folder before touching the database: a broken layout should not take the lock.
  const local = await readMigrationsDir(migrationsDir);
  const table = `${escapeIdentifier(schema)}."_prisma_migrations"`;

  const client = new Client({ connectionString: databaseUrl, application_name: "pragma-migrate" });
  // The server going away between statements must fail the next one, not crash the process.
  client.on("error", () => undefined);
  await client.connect();
  try {
    const lockKey = `pragma.migrate:${schema}`;
    const got = await client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok", [lockKey]);
    if (!got.rows[0]?.ok) {
      logger?.info({ schema }, "waiting for another migration runner");
      await client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [lockKey]);
    }
    try {
      // Under the lock: concurrent CREATE ... IF NOT EXISTS can still collide on the catalog.
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${escapeIdentifier(schema)}`);
      await client.query(prismaMigrationsTableDdl(schema));

      const rows = await client.query<AppliedMigration>(
        `SELECT migration_name, checksum, finished_at, rolled_back_at FROM ${table} ORDER BY started_at, migration_name`,
      );
      const plan = planMigrations(local, rows.rows);
      if (!plan.ok) throw new MigrationError(plan.problems);

      const applied: string[] = [];
      for (const migration of plan.pending) {
        const startedMs = Date.now();
        await client.query("BEGIN");
        try {
          await client.query(`SET LOCAL search_path TO ${escapeIdentifier(schema)}`);
          await client.query(migration.script.toString("utf8"));
          await client.query(
            `INSERT INTO ${table} (id, checksum, finished_at, migration_name, logs, rolled_back_at, started_at, applied_steps_count)
             VALUES ($1, $2, clock_timestamp(), $3, NULL, NULL, now(), 1)`,
            [randomUUID(), migrationChecksum(migration.script), migration.name],
          );
          await client.query("COMMIT");
        } catch (err) {
          await client.query("ROLLBACK").catch(() => undefined);
          const message = err instanceof Error ? err.message : String(err);
          throw new MigrationError([{ kind: "failed", migration: migration.name, detail: `failed and was rolled back: ${message}` }], { cause: err });
        }
        applied.push(migration.name);
        logger?.info({ schema, migration: migration.name, durationMs: Date.now() - startedMs }, "migration applied");
      }
      if (applied.length === 0) logger?.info({ schema, migrations: local.length }, "database schema up to date");
      return { applied };
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [lockKey]).catch(() => undefined);
    }
  } finally {
    await client.end();
  }
}
