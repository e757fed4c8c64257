import { checksumMatches } from "./checksum";
import type { MigrationProblem } from "./errors";

export interface LocalMigration {
  /** Folder name, `<timestamp>_<name>`; the `migration_name` Prisma records. */
  name: string;
  script: Buffer;
}

/** The columns of a `_prisma_migrations` row that decide what to do next. */
export interface AppliedMigration {
  migration_name: string;
  checksum: string;
  finished_at: Date | null;
  rolled_back_at: Date | null;
}

export type MigrationPlan = { ok: true; pending: LocalMigration[] } | { ok: false; problems: MigrationProblem[] };

/**
 * Decides which local migrations still need applying, mirroring `prisma migrate deploy`:
 * rows marked rolled back (`prisma migrate resolve --rolled-back`) no longer count, so
 * such a migration runs again; any other row must match the folder exactly.
 */
export function planMigrations(local: readonly LocalMigration[], applied: readonly AppliedMigration[]): MigrationPlan {
  const problems: MigrationProblem[] = [];
  const localByName = new Map(local.map((m) => [m.name, m]));
  const done = new Set<string>();

  for (const row of applied) {
    if (row.rolled_back_at !== null) continue;
    const name = row.migration_name;
    if (row.finished_at === null) {
      problems.push({
        kind: "unfinished",
        migration: name,
        detail:
          "recorded as started but never finished (it failed earlier); fix the database by hand, then mark it with `prisma migrate resolve --rolled-back` or `--applied`, or delete its _prisma_migrations row",
      });
      continue;
    }
    const mine = localByName.get(name);
    if (!mine) {
      problems.push({
        kind: "missing-locally",
        migration: name,
        detail: "applied to the database but missing from the migrations folder (a newer build ran here, or a migration was deleted)",
      });
      continue;
    }
    if (!checksumMatches(mine.script, row.checksum)) {
      problems.push({
        kind: "checksum-mismatch",
        migration: name,
        detail: "migration.sql was edited after it was applied; restore it and put the change in a new migration",
      });
      continue;
    }
    done.add(name);
  }

  if (problems.length > 0) return { ok: false, problems };
  return { ok: true, pending: local.filter((m) => !done.has(m.name)) };
}
