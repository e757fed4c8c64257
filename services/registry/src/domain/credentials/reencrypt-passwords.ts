import type { Cipher as PasswordCipher } from "@pragma/crypto";
import type { ProjectRepository } from "../ports";

export interface ReencryptResult {
  total: number;
  reencrypted: number;
  /** Rows changed by a concurrent PATCH between read and write; already under the active key. */
  skipped: number;
}

/**
 * Key rotation, step two: after the new key is active, moves every password sealed
 * under an older key onto it, so the old key can be removed from config. Safe to
 * run while the service serves (compare-and-set per row) and to run again.
 */
export async function reencryptPasswords(deps: { projects: ProjectRepository; cipher: PasswordCipher }): Promise<ReencryptResult> {
  const rows = await deps.projects.listCiphertexts();
  let reencrypted = 0;
  let skipped = 0;
  for (const row of rows) {
    if (deps.cipher.keyIdOf(row.password_ciphertext) === deps.cipher.activeKeyId) continue;
    const next = deps.cipher.encrypt(deps.cipher.decrypt(row.password_ciphertext));
    if (await deps.projects.replaceCiphertext(row.id, row.password_ciphertext, next)) reencrypted++;
    else skipped++;
  }
  return { total: rows.length, reencrypted, skipped };
}
