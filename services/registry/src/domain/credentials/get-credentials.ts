import type { DatabaseCredentials } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { Cipher as PasswordCipher } from "@pragma/crypto";
import type { ProjectRepository } from "../ports";
import { presentDatabase } from "../projects/present";

/**
 * The one place passwords are decrypted. The reply goes to a provider worker over
 * direct reply-to (never persisted, never published); callers must not log it.
 */
export async function getCredentials(
  deps: { projects: ProjectRepository; cipher: PasswordCipher },
  input: { org_id: string; project_id: string },
): Promise<{ databases: DatabaseCredentials[] }> {
  const project = await deps.projects.findById(input.org_id, input.project_id);
  if (!project) throw new AppError("NOT_FOUND", "Project not found");
  return { databases: project.databases.map((d) => ({ ...presentDatabase(d), password: deps.cipher.decrypt(d.password_ciphertext) })) };
}
