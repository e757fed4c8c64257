import { AppError } from "@pragma/errors";
import type { DeadLetterEntry, TenantScope } from "@pragma/contracts";
import type { DeadLetterFilter } from "./model";
import type { DeadLetterRepository } from "./ports";
import { presentDeadLetter } from "./present";
import { buildEvent, isRetryable, notFound, type RetryDeps } from "./retry-dead-letter";

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

/** Entries per transaction of retry-all (two round trips each, whatever the size). */
export const RETRY_ALL_CHUNK = 500;

/**
 * Retries what can be retried now, oldest entry first, a chunk of entries per transaction
 * (one transaction of three round trips per entry took 40-116 s for 10,000 on the bench's
 * hosts). Per resource only its oldest entry goes: once that one is queued the resource is
 * pending, and its newer entries stay, as would any entry whose resource is busy or gone
 * (a later chunk finds the resource pending too). An entry a concurrent call took meanwhile
 * is simply not there any more. A failure stops the call; chunks already committed stay
 * retried.
 */
export async function retryAllDeadLetters(deps: RetryDeps, scope: TenantScope, filter: DeadLetterFilter): Promise<number> {
  const chunk = deps.retryAllChunk ?? RETRY_ALL_CHUNK;
  const keys = await deps.repo.entryKeys(scope, filter);
  const correlationId = deps.correlationId?.();
  let retried = 0;
  for (let i = 0; i < keys.length; i += chunk) {
    const now = deps.clock.now();
    const n = await deps.repo.requeueMany(scope, keys.slice(i, i + chunk), (entries, targets) => {
      const seen = new Set<string>();
      const picked = [];
      for (const entry of entries) {
        const target = targets.get(entry.resourceId);
        if (!target || seen.has(entry.resourceId)) continue;
        seen.add(entry.resourceId);
        if (!isRetryable(target)) continue;
        picked.push({ entryId: entry.eventId, event: buildEvent(entry, target, scope, now, correlationId) });
      }
      return picked;
    });
    if (n > 0) deps.onEventWritten?.();
    retried += n;
  }
  return retried;
}
