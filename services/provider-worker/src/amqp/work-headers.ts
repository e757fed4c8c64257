import { HEADERS, WORK_HEADERS, readAttemptHistory, writeAttemptHistory, type WorkAttemptHistory } from "@pragma/contracts";
import type { DeadLetterFacts, WorkCopy, WorkInput } from "../domain/ports";

/**
 * The broker-header arithmetic of work messages, kept out of the domain: what a delivered
 * copy says about the event's past (readCopy), and the headers of each copy the worker
 * publishes itself (a delay tier, a dead letter). Names come from @pragma/contracts.
 */

/** Headers the broker sets (or routes by), never carried onto a copy we publish ourselves. */
const BROKER_HEADERS = /^(x-death|x-first-death-|x-last-death-|x-delivery-count$|CC$|BCC$)/;

const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "bigint" ? Number(v) : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : 0);

export function readCopy(headers: Record<string, unknown>, deliveryCount: number): WorkCopy {
  return { retryCount: num(headers[HEADERS.retryCount]), leaseWaits: num(headers[WORK_HEADERS.leaseWaits]), history: readAttemptHistory(headers), deliveryCount };
}

export function carriedHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !BROKER_HEADERS.test(k)));
}

/** A copy parked because the resource was busy: one more lease wait, nothing else changes. */
export function waitHeaders(input: WorkInput): Record<string, unknown> {
  return { ...carriedHeaders(input.headers), [WORK_HEADERS.leaseWaits]: input.copy.leaseWaits + 1 };
}

/** A copy parked after a transient failure. */
export function retryHeaders(input: WorkInput, retryCount: number, history: WorkAttemptHistory): Record<string, unknown> {
  return { ...carriedHeaders(input.headers), [HEADERS.retryCount]: retryCount, [WORK_HEADERS.attemptHistory]: writeAttemptHistory(history) };
}

/** The dead letter: why, the (redacted) error, and the attempt history the resource store shows. */
export function deadLetterHeaders(input: WorkInput, facts: DeadLetterFacts): Record<string, unknown> {
  return {
    ...carriedHeaders(input.headers),
    [HEADERS.retryCount]: facts.retryCount,
    [HEADERS.permanentError]: facts.permanent,
    [HEADERS.errorMessage]: facts.error.slice(0, 4000),
    [WORK_HEADERS.deadLetterReason]: facts.reason,
    [WORK_HEADERS.attemptHistory]: writeAttemptHistory(facts.history),
  };
}
