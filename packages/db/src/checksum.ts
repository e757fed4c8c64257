import { createHash } from "node:crypto";

/** Prisma's checksum: lowercase sha256 hex of the migration.sql bytes, as stored in `_prisma_migrations.checksum`. */
export function migrationChecksum(script: Buffer | string): string {
  return createHash("sha256").update(script).digest("hex");
}

/**
 * Prisma also accepts the checksum of the script with its line endings flipped
 * (CRLF <-> LF), so a checkout with `core.autocrlf` does not look like an edited
 * migration. We accept the same variants so both tools agree on what "changed" means.
 */
export function checksumMatches(script: Buffer, recorded: string): boolean {
  const expected = recorded.toLowerCase();
  if (migrationChecksum(script) === expected) return true;
  const text = script.toString("utf8");
  const lf = text.replace(/\r\n/g, "\n");
  if (lf !== text) return migrationChecksum(lf) === expected;
  return migrationChecksum(text.replace(/\n/g, "\r\n")) === expected;
}
