import { z } from "zod";
import { timestamp } from "./common";

/**
 * What happened to a work event before it ended, as the worker records it on the copies it
 * publishes (delay tiers, dead letters). Three counts that must not be confused:
 *
 * - a **run** (an attempt) is a hook started for the event: the worker counts one each time
 *   it takes the resource's lease to run the hook, in Redis, so runs on replicas that were
 *   killed count too. A run ends succeeded, retried (a transient error, re-queued through a
 *   delay tier, counted in `x-retry-count`), failed (dead-lettered) or crashed (the worker
 *   stopped before the run ended: it is known only from the count).
 * - a **lease wait** is a delivery that found another holder on the resource's lease and was
 *   parked in the shortest delay tier (acked, re-published): no hook ran, and it spends neither
 *   the retry budget nor the broker's delivery budget.
 * - a **delivery** is the broker handing a copy to a consumer (`x-delivery-count`, per copy).
 *   A kill redelivers every unacked copy; only runs that crashed count towards the worker's
 *   crash-loop bound.
 */
export const WORK_HEADERS = {
  /** Lease waits so far (a number). */
  leaseWaits: "x-lock-waits",
  /** The finished runs' history so far: JSON text of WorkAttemptHistory. */
  attemptHistory: "x-attempt-history",
  /** Why the worker dead-lettered (permanent_error, retries_exhausted, delivery_limit); the broker's own reasons come in x-death. */
  deadLetterReason: "x-dead-letter-reason",
} as const;

export const WORK_ATTEMPT_OUTCOMES = ["retried", "failed", "crashed"] as const;

export const WorkAttempt = z.object({
  /** 1 for the first run. */
  attempt: z.number().int().positive(),
  /** When the run started (the time its lease was taken). */
  at: timestamp(),
  outcome: z.enum(WORK_ATTEMPT_OUTCOMES),
  /** Redacted by the worker: no secret the event carried or the worker knows appears. */
  error: z.string(),
});
export type WorkAttempt = z.infer<typeof WorkAttempt>;

export const WorkAttemptHistory = z.object({
  /** Hook runs started, crashed ones included. */
  runs: z.number().int().nonnegative(),
  /** Runs that ended in a transient error and were re-queued (x-retry-count). */
  retries: z.number().int().nonnegative(),
  /** Runs that never ended (the worker was killed or lost its connections). */
  crashed: z.number().int().nonnegative(),
  lease_waits: z.number().int().nonnegative(),
  /** Every run that did not succeed, oldest first. */
  attempts: z.array(WorkAttempt),
});
export type WorkAttemptHistory = z.infer<typeof WorkAttemptHistory>;

/** Longest error text kept per attempt in the header (the dead letter's own x-error-message keeps 4,000). */
export const WORK_ATTEMPT_ERROR_MAX = 1000;

/** The history a message carries, or null when it has none or it does not parse (an older worker's copy). */
export function readAttemptHistory(headers: Record<string, unknown>): WorkAttemptHistory | null {
  const raw = headers[WORK_HEADERS.attemptHistory];
  const text = typeof raw === "string" ? raw : raw instanceof Uint8Array ? new TextDecoder().decode(raw) : undefined;
  if (!text) return null;
  try {
    const r = WorkAttemptHistory.safeParse(JSON.parse(text));
    return r.success ? r.data : null;
  } catch {
    return null;
  }
}

export function writeAttemptHistory(history: WorkAttemptHistory): string {
  return JSON.stringify(history);
}
