import { WORK_ATTEMPT_ERROR_MAX, type WorkAttempt, type WorkAttemptHistory } from "@pragma/contracts";
import type { WorkCopy } from "./ports";

/**
 * An event's runs so far (the definitions are in packages/contracts/src/work-attempts.ts):
 * the start times the ledger recorded (this run's last) and the history the copy carries.
 * A run the history does not list ended neither in a retry nor in a result: its worker
 * stopped before it finished (crashed).
 */
export interface Runs {
  /** This run's number (1 for the first), or, with ran false, the runs so far. */
  run: number;
  /** false: this delivery runs no hook (an unknown type, a crash loop). */
  ran: boolean;
  startedAt: string;
  crashed: number;
  leaseWaits: number;
  attempts: WorkAttempt[];
}

export const CRASHED_RUN_ERROR = "the worker stopped before the hook finished (killed, or lost its connections)";

export function runsOf(copy: WorkCopy, startTimes: readonly string[], now: string): Runs {
  const carried = copy.history?.attempts ?? [];
  // Redis may have lost the start times (a restart without persistence): the history still counts.
  const run = Math.max(startTimes.length, (carried[carried.length - 1]?.attempt ?? 0) + 1);
  const listed = new Set(carried.map((a) => a.attempt));
  const attempts = [...carried];
  for (let n = 1; n < run; n++) {
    if (!listed.has(n)) attempts.push({ attempt: n, at: startTimes[n - 1] ?? now, outcome: "crashed", error: CRASHED_RUN_ERROR });
  }
  attempts.sort((a, b) => a.attempt - b.attempt);
  return { run, ran: true, startedAt: startTimes[run - 1] ?? now, crashed: attempts.filter((a) => a.outcome === "crashed").length, leaseWaits: copy.leaseWaits, attempts };
}

/** For a delivery that runs no hook: the history as carried. */
export function noRun(copy: WorkCopy, now: string, runsSoFar = copy.history?.runs ?? 0): Runs {
  const attempts = copy.history?.attempts ?? [];
  return { run: runsSoFar, ran: false, startedAt: now, crashed: attempts.filter((a) => a.outcome === "crashed").length, leaseWaits: copy.leaseWaits, attempts };
}

/** The history to carry on the next copy, with this run's end added (nothing when no hook ran). */
export function historyAfter(runs: Runs, retries: number, outcome: WorkAttempt["outcome"], error: string): WorkAttemptHistory {
  const attempts = runs.ran ? [...runs.attempts, { attempt: runs.run, at: runs.startedAt, outcome, error: error.slice(0, WORK_ATTEMPT_ERROR_MAX) }] : runs.attempts;
  return { runs: runs.run, retries, crashed: runs.crashed, lease_waits: runs.leaseWaits, attempts };
}
