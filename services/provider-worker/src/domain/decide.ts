import type { Neighbours } from "./crash-isolation";
import type { WorkerDeadLetterReason, WorkPolicy } from "./ports";

/**
 * The worker's failure policy as two pure decisions, so it can be read (and tested) as a
 * table apart from Redis, the broker and the hook:
 *
 * | before the hook                          | decision                                   |
 * |------------------------------------------|--------------------------------------------|
 * | the type is unknown                      | dead-letter, permanent_error (no run)      |
 * | the event already completed              | replay its stored outcome                  |
 * | another holder has the resource          | wait in the first delay tier (no run)      |
 * | `deliveryLimit` earlier runs crashed      | dead-letter, delivery_limit (no run)       |
 * | a suspect (a crashed run) runs here       | wait in the first delay tier (no run)      |
 * | a run crashed, others run here, fewer     | wait in the first delay tier (no run)      |
 * |   than `isolationWaits` waits so far      |                                            |
 * | otherwise                                | run the hook                               |
 *
 * (Suspects run alone: crash-isolation.ts.)
 *
 * | after a run failed                       | decision                                   |
 * |------------------------------------------|--------------------------------------------|
 * | permanent error                          | dead-letter, permanent_error               |
 * | transient, retries < maxRetries          | retry in tier `tiersMs[min(retries, last)]` |
 * | transient, retries used up               | dead-letter, retries_exhausted             |
 */
export type EntryFacts =
  | { state: "unknown-type" }
  | { state: "done" }
  | { state: "busy" }
  | { state: "entered"; crashedRuns: number; neighbours: Neighbours; waits: number };

export type EntryDecision =
  | { action: "run" }
  | { action: "replay" }
  | { action: "wait"; delayMs: number }
  | { action: "dead-letter"; reason: WorkerDeadLetterReason };

export function decideEntry(facts: EntryFacts, policy: WorkPolicy): EntryDecision {
  switch (facts.state) {
    case "unknown-type":
      return { action: "dead-letter", reason: "permanent_error" };
    case "done":
      return { action: "replay" };
    case "busy":
      // Not a failure: the retry budget is untouched, and the delivery is acked at once.
      return { action: "wait", delayMs: firstTier(policy) };
    case "entered":
      if (facts.crashedRuns >= policy.deliveryLimit) return { action: "dead-letter", reason: "delivery_limit" };
      if (facts.neighbours === "suspect") return { action: "wait", delayMs: firstTier(policy) };
      if (facts.crashedRuns > 0 && facts.neighbours === "others" && facts.waits < policy.isolationWaits) return { action: "wait", delayMs: firstTier(policy) };
      return { action: "run" };
  }
}

export interface FailureFacts {
  permanent: boolean;
  /** Retries already spent (x-retry-count of this copy). */
  retryCount: number;
}

export type FailureDecision = { action: "retry"; retryCount: number; delayMs: number } | { action: "dead-letter"; reason: WorkerDeadLetterReason };

export function decideFailure(facts: FailureFacts, policy: WorkPolicy): FailureDecision {
  if (facts.permanent) return { action: "dead-letter", reason: "permanent_error" };
  if (facts.retryCount >= policy.maxRetries) return { action: "dead-letter", reason: "retries_exhausted" };
  const delayMs = policy.tiersMs[Math.min(facts.retryCount, policy.tiersMs.length - 1)] ?? 1000;
  return { action: "retry", retryCount: facts.retryCount + 1, delayMs };
}

function firstTier(policy: WorkPolicy): number {
  return policy.tiersMs[0] ?? 1000;
}
