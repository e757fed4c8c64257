import { AppError } from "@pragma/errors";
import type { DeadLetterEntry, TenantScope } from "@pragma/contracts";
import type { DeadLetterFilter } from "./model";
import type { DeadLetterRepository } from "./ports";
import { presentDeadLetter } from "./present";
import { notFound, retryDeadLetter, type RetryDeps } from "./retry-dead-letter";

type Repo = { repo: DeadLetterRepository };

export async function listDeadLetters(deps: Repo, scope: TenantScope, filter: DeadLetterFilter): Promise<DeadLetterEntry[]> {
  return (await deps.repo.list(scope, filter)).map(presentDeadLetter);
}

export async function getDeadLetter(deps: Repo, scope: TenantScope, eventId: string): Promise<DeadLetterEntry> {
  const found = await deps.repo.get(scope, eventId);
  if (!found) throw notFound(eventId);
  return presentDeadLetter(found);
}

/** Idempotent: an unknown (or already removed) entry deletes nothing and is not an error. */
export async function deleteDeadLetter(deps: Repo, scope: TenantScope, eventId: string): Promise<number> {
  return deps.repo.delete(scope, eventId);
}

/** Bulk delete needs an explicit choice: everything (`all`) or one provider's entries. */
export async function deleteDeadLetters(deps: Repo, scope: TenantScope, opts: { all?: boolean | undefined; provider?: string | undefined }): Promise<number> {
  if (opts.provider) return deps.repo.deleteMany(scope, { provider: opts.provider });
  if (opts.all === true) return deps.repo.deleteMany(scope, {});
  throw new AppError("BAD_REQUEST", "Specify all=true or provider to bulk delete dead-letter events");
}

/**
 * Retries each entry in its own transaction, oldest first. Entries that cannot be
 * retried right now (their resource is busy, for instance with an earlier entry of
 * the same resource retried a moment ago, or gone) stay in the store and are not
 * counted; one that a concurrent call took is skipped.
 */
export async function retryAllDeadLetters(deps: RetryDeps, scope: TenantScope, filter: DeadLetterFilter): Promise<number> {
  let retried = 0;
  for (const eventId of await deps.repo.eventIds(scope, filter)) {
    try {
      await retryDeadLetter(deps, scope, eventId);
      retried++;
    } catch (err) {
      if (err instanceof AppError && (err.code === "NOT_FOUND" || err.code === "CONFLICT")) continue;
      throw err;
    }
  }
  return retried;
}
