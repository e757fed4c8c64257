import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { MigrationError } from "./errors";
import type { LocalMigration } from "./plan";

/**
 * Reads a Prisma `prisma/migrations` folder. Files at the top level
 * (`migration_lock.toml`) are Prisma's own and skipped; every subfolder is a
 * migration and must hold a `migration.sql`, as `prisma migrate deploy` requires.
 */
export async function readMigrationsDir(migrationsDir: string): Promise<LocalMigration[]> {
  const entries = await readdir(migrationsDir, { withFileTypes: true });
  const folders = entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    // Code-unit order, not locale order, so every machine applies the same sequence.
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));

  const migrations: LocalMigration[] = [];
  for (const name of folders) {
    if (name.length > 255) {
      throw new MigrationError([{ kind: "invalid-layout", migration: name, detail: "folder name longer than 255 characters (the migration_name column)" }]);
    }
    let script: Buffer;
    try {
      script = await readFile(join(migrationsDir, name, "migration.sql"));
    } catch (err) {
      throw new MigrationError([{ kind: "invalid-layout", migration: name, detail: `no readable migration.sql in ${join(migrationsDir, name)}` }], { cause: err });
    }
    migrations.push({ name, script });
  }
  return migrations;
}
