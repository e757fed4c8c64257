export { migrate, prismaMigrationsTableDdl, type MigrateOptions, type MigrateResult, type MigrationLogger } from "./migrate";
export { ensureDatabase, databaseNameOf, maintenanceUrlOf } from "./ensure-database";
export { MigrationError, type MigrationProblem, type MigrationProblemKind } from "./errors";
export { migrationChecksum, checksumMatches } from "./checksum";
export { planMigrations, type LocalMigration, type AppliedMigration, type MigrationPlan } from "./plan";
export { readMigrationsDir } from "./migrations-dir";
export { checkDatabase, type DatabaseCheck, type Queryable } from "./health";
export { createPgPool, survivePoolErrors, errorCode, type PoolLogger } from "./pool";
export { isDatabaseUnavailable, asDatabaseUnavailable, answerDatabaseOutages, holdOnDatabaseOutage, DATABASE_UNAVAILABLE_DETAIL, DATABASE_DOWN_REQUEUE_DELAY_MS } from "./unavailable";
