import { AppError } from "@pragma/errors";
import type { DeadLetterEntry, TenantScope } from "@pragma/contracts";
import type { DeadLetterFilter } from "./model";
import type { DeadLetterRepository } from "./ports";
import { presentDeadLetter } from "./present";
import { Lifecycle } from "../resources/lifecycle";
import { catalogOf, correlationOf, notFound, requeue, whyNot, type RetryDeps } from "./retry-dead-letter";

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

/** Entries per transaction of retry-all (a few round trips each, whatever the size). */
export const RETRY_ALL_CHUNK = 500;

/**
 * Retries what can be retried now, oldest entry first, a chunk of entries per transaction
 * (one transaction per entry took 40-116 s for 10,000 on the bench's hosts). Each entry
 * goes through the same step as a single retry (requeue: the lifecycle, references
 * checked and resolved, held while a dependency is not ready). Per resource only its
 * oldest entry goes: once that one is queued the resource is pending, and its newer
 * entries stay, as would any entry whose resource is busy or gone, or whose references
 * no longer check out (a later chunk finds the resource pending too). An entry a
 * concurrent call took meanwhile is simply not there any more. A failure stops the call;
 * chunks already committed stay retried.
 */
export async function retryAllDeadLetters(deps: RetryDeps, scope: TenantScope, filter: DeadLetterFilter): Promise<number> {
  const chunk = deps.retryAllChunk ?? RETRY_ALL_CHUNK;
  const keys = await deps.repo.entryKeys(scope, filter);
  if (keys.length === 0) return 0;
  const catalog = await catalogOf(deps, scope);
  let retried = 0;
  for (let i = 0; i < keys.length; i += chunk) {
    const slice = keys.slice(i, i + chunk);
    const { n, released } = await deps.resources.inScope(scope, async (tx) => {
      // Entries first, then resources: the order a single retry takes its locks in.
      const entries = await tx.lockDeadLetters(slice.map((k) => k.eventId));
      const targets = new Map((await tx.lockResources(entries.map((e) => e.resourceId))).map((r) => [r.resourceId, r]));
      const now = deps.clock.now();
      const seen = new Set<string>();
      const taken: string[] = [];
      let anyReleased = false;
      for (const entry of entries) {
        const target = targets.get(entry.resourceId);
        if (seen.has(entry.resourceId)) continue;
        seen.add(entry.resourceId);
        if (!target || whyNot(entry, target)) continue;
        const lc = new Lifecycle(tx, now, correlationOf(deps, entry), deps.sealer);
        try {
          await requeue(tx, lc, entry, target, catalog);
        } catch (err) {
          // A missing dependency or an unresolvable reference: apply would refuse it too; the entry stays.
          if (err instanceof AppError && err.code === "DEPENDENCY_FAILED") continue;
          throw err;
        }
        anyReleased ||= lc.released;
        taken.push(entry.eventId);
      }
      await tx.deleteDeadLetters(taken);
      return { n: taken.length, released: anyReleased };
    });
    if (released) deps.onEventWritten?.();
    retried += n;
  }
  return retried;
}
