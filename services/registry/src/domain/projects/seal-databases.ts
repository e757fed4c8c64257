import type { DatabaseEntryInput } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { ValidationIssue } from "@pragma/errors";
import type { Cipher as PasswordCipher } from "@pragma/crypto";
import type { DatabaseProbe, StoredDatabase } from "../ports";

/**
 * ?verify=true: every entry is tried (in parallel, each bounded by its own
 * connect_timeout_secs) so one 422 names all the failing entries at once.
 */
export async function verifyDatabases(probe: DatabaseProbe, entries: DatabaseEntryInput[], loc: (string | number)[] = ["body", "database"]): Promise<void> {
  const reasons = await Promise.all(entries.map((e) => probe.check(e)));
  const issues: ValidationIssue[] = [];
  reasons.forEach((reason, i) => {
    if (reason !== null) issues.push({ loc: [...loc, i], msg: `could not connect: ${reason}`, type: "connection_failed" });
  });
  if (issues.length > 0) throw new AppError("VALIDATION_FAILED", issues);
}

export function sealDatabases(cipher: PasswordCipher, entries: DatabaseEntryInput[]): StoredDatabase[] {
  return entries.map((e) => ({
    host: e.host,
    port: e.port,
    username: e.username,
    db_name: e.db_name,
    db_type: e.db_type,
    connect_timeout_secs: e.connect_timeout_secs,
    idle_timeout_secs: e.idle_timeout_secs,
    max_open_connections: e.max_open_connections,
    max_idle_connections: e.max_idle_connections,
    password_ciphertext: cipher.encrypt(e.password),
  }));
}
