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

/** Resources whose entries are retried at once (each retry holds a pooled connection). */
const RETRY_ALL_CONCURRENCY = 4;

/**
 * Retries each entry in its own transaction, oldest first per resource; different
 * resources go side by side (RETRY_ALL_CONCURRENCY at a time: one by one, 10,000 entries
 * took over two minutes). Entries that cannot be retried right now (their resource is
 * busy, for instance with an earlier entry of the same resource retried a moment ago, or
 * gone) stay in the store and are not counted; one that a concurrent call took is skipped.
 */
export async function retryAllDeadLetters(deps: RetryDeps, scope: TenantScope, filter: DeadLetterFilter): Promise<number> {
  const byResource = new Map<string, string[]>();
  for (const { eventId, resourceId } of await deps.repo.entryKeys(scope, filter)) {
    const list = byResource.get(resourceId);
    if (list) list.push(eventId);
    else byResource.set(resourceId, [eventId]);
  }
  const groups = [...byResource.values()];
  let retried = 0;
  let next = 0;
  let failure: { err: unknown } | undefined;
  const lane = async () => {
    for (let g = next++; g < groups.length && !failure; g = next++) {
      for (const eventId of groups[g]!) {
        try {
          await retryDeadLetter(deps, scope, eventId);
          retried++;
        } catch (err) {
          if (err instanceof AppError && (err.code === "NOT_FOUND" || err.code === "CONFLICT")) continue;
          // Anything else stops every lane (what was retried stays retried), as it stopped the loop.
          failure ??= { err };
          return;
        }
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(RETRY_ALL_CONCURRENCY, groups.length) }, lane));
  if (failure) throw failure.err;
  return retried;
}
