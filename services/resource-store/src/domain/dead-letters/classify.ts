import { HEADERS, WORK_HEADERS, readAttemptHistory, type DeadLetterAttempt, type DeadLetterReason } from "@pragma/contracts";

/**
 * Reading a dead-lettered message's headers. Two producers put events in the queue:
 *
 * - the worker, which publishes a copy to pragma.dlx for a permanent error, when its
 *   retry budget is spent or after a crash loop, with x-permanent-error, x-error-message
 *   (already redacted), x-retry-count, x-dead-letter-reason (permanent_error |
 *   retries_exhausted | delivery_limit) and x-attempt-history (WorkAttemptHistory in
 *   @pragma/contracts: every run that did not succeed); it strips x-death from the copy;
 * - the broker, for what the worker could not handle (a crash loop hitting the work
 *   queue's x-delivery-limit, a payload that failed the contract and was nacked),
 *   which adds x-death (most recent entry first).
 */

/** The worker's header naming why it dead-lettered (the broker's own reasons come in x-death). */
export const WORKER_REASON_HEADER = WORK_HEADERS.deadLetterReason;
/** Written by workers before issue 27.5 (deliveries of earlier copies); read only for their copies without a history. */
const PRIOR_DELIVERIES_HEADER = "x-prior-deliveries";

export interface XDeath {
  reason: string;
  queue: string;
  count: number;
  time: Date | null;
}

const num = (v: unknown): number =>
  typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : 0;
const str = (v: unknown): string | undefined => (typeof v === "string" && v.length > 0 ? v : Buffer.isBuffer(v) ? v.toString("utf8") || undefined : undefined);

function toDate(v: unknown): Date | null {
  // amqplib decodes AMQP timestamps as numbers of seconds, or as {"!":"timestamp", value}.
  const raw = v && typeof v === "object" && "value" in (v as object) ? (v as { value: unknown }).value : v;
  if (typeof raw === "number") return new Date(raw < 1e12 ? raw * 1000 : raw);
  if (raw instanceof Date) return raw;
  return null;
}

export function xDeaths(headers: Record<string, unknown>): XDeath[] {
  const list = headers["x-death"];
  if (!Array.isArray(list)) return [];
  return list
    .filter((d): d is Record<string, unknown> => !!d && typeof d === "object")
    .map((d) => ({ reason: str(d.reason) ?? "rejected", queue: str(d.queue) ?? "?", count: num(d.count) || 1, time: toDate(d.time) }));
}

/**
 * Maps to the spec's reasons. The worker's "retries_exhausted" becomes `rejected`:
 * the consumer rejected the event after its own bounded retries, which is what the
 * broker's `rejected` means; `delivery_limit` stays reserved for crash loops (the
 * broker's limit, or the worker's own count across delay copies).
 */
export function classifyReason(headers: Record<string, unknown>): DeadLetterReason {
  const worker = str(headers[WORKER_REASON_HEADER]);
  if (worker === "permanent_error" || headers[HEADERS.permanentError] === true) return "permanent_error";
  if (worker === "delivery_limit") return "delivery_limit";
  if (worker === "retries_exhausted") return "rejected";
  const last = str(headers["x-last-death-reason"]) ?? xDeaths(headers)[0]?.reason ?? str(headers["x-first-death-reason"]);
  if (last === "delivery_limit" || last === "expired") return last;
  // "rejected", "maxlen" (a full queue dropping its head) and anything unknown.
  return "rejected";
}

/** The last attempt's error: the worker's (redacted) message, or what the broker tells us. */
export function errorFromHeaders(headers: Record<string, unknown>): string {
  const message = str(headers[HEADERS.errorMessage]);
  if (message) return message;
  const death = xDeaths(headers)[0];
  if (!death) return "dead-lettered without an error message";
  if (death.reason === "delivery_limit") return `delivery limit reached in ${death.queue}: the worker stopped or crashed on every delivery without completing the event`;
  if (death.reason === "expired") return `expired in ${death.queue} before a worker took it`;
  return `rejected by a consumer of ${death.queue} (the message failed its contract or could not be handled)`;
}

/**
 * Attempts the event used: the hook runs the worker's attempt history counts (crashed ones
 * included); without one (an older worker's copy, a message nacked before any worker read
 * it), the worker's first try plus its retries, or for crash loops the deliveries the broker
 * counted.
 */
export function attemptCountFromHeaders(headers: Record<string, unknown>): number {
  const history = readAttemptHistory(headers);
  if (history) return Math.max(1, history.runs, history.attempts.length);
  const retries = num(headers[HEADERS.retryCount]);
  if (str(headers[WORKER_REASON_HEADER]) || headers[HEADERS.permanentError] !== undefined) return retries + 1;
  const death = xDeaths(headers)[0];
  const deliveries = num(headers[PRIOR_DELIVERIES_HEADER]) + Math.max(num(headers["x-delivery-count"]), death?.reason === "delivery_limit" ? 1 : 0);
  return Math.max(1, retries + Math.max(1, deliveries));
}

/**
 * The attempts to show, oldest first, each with its error. From the worker's attempt
 * history when the message carries one: its unsuccessful runs; when the broker dead-lettered
 * the copy (x-death, no worker verdict on the last copy), its final failure is added. Else
 * the broker's x-death history plus the final failure. The last always carries an error.
 */
export function attemptsFromHeaders(headers: Record<string, unknown>, failedAt: Date, errorMessage: string): DeadLetterAttempt[] {
  const history = readAttemptHistory(headers);
  if (history && history.attempts.length > 0) {
    const out = history.attempts.map((a) => ({ at: a.at, error: a.error }));
    if (history.attempts[history.attempts.length - 1]!.outcome !== "failed") out.push({ at: failedAt.toISOString(), error: errorMessage });
    return out;
  }
  return [...attemptsFromXDeath(headers).slice(0, -1), { at: failedAt.toISOString(), error: errorMessage }];
}

/** Broker-side history (x-death) as attempts, oldest first, for when no worker history exists. */
export function attemptsFromXDeath(headers: Record<string, unknown>): DeadLetterAttempt[] {
  return xDeaths(headers)
    .filter((d) => d.time !== null)
    .reverse()
    .map((d) => ({ at: d.time!.toISOString(), error: `${d.reason} in ${d.queue}${d.count > 1 ? ` (${d.count} times)` : ""}` }));
}

export function headerString(headers: Record<string, unknown>, name: string): string | undefined {
  return str(headers[name]);
}
