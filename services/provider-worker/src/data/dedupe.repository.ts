import type { Redis } from "ioredis";
import { HEADERS, WORK_HEADERS, readAttemptHistory } from "@pragma/contracts";
import type { StoredOutcome, WorkerDeadLetterReason } from "../domain/ports";

export type { StoredOutcome } from "../domain/ports";

export interface DedupeRepository {
  get(eventId: string): Promise<StoredOutcome | null>;
  put(eventId: string, outcome: StoredOutcome): Promise<void>;
  /** Where an event's outcome is kept, and how to read it (for ResourceLocks.enter). */
  keyOf(eventId: string): string;
  /** Where the start times of an event's runs are kept (ResourceLocks.enter reads them). */
  runsKeyOf(eventId: string): string;
  /** Records a run (a hook about to start) of the event, kept as long as its outcome. */
  recordRun(eventId: string, startedAt: string): Promise<void>;
  /** Takes back a run recorded by ResourceLocks.enter whose hook then did not start. */
  unrecordRun(eventId: string, startedAt: string): Promise<void>;
  decode(raw: string): StoredOutcome;
}

export function redisDedupe(redis: Redis, prefix: string, ttlSecs: number): DedupeRepository {
  const key = (id: string) => `${prefix}done:${id}`;
  const runsKey = (id: string) => `${prefix}runs:${id}`;
  return {
    async get(eventId) {
      const raw = await redis.get(key(eventId));
      return raw ? decode(raw) : null;
    },
    keyOf: key,
    runsKeyOf: runsKey,
    async recordRun(eventId, startedAt) {
      await redis.multi().rpush(runsKey(eventId), startedAt).expire(runsKey(eventId), ttlSecs).exec();
    },
    async unrecordRun(eventId, startedAt) {
      await redis.lrem(runsKey(eventId), -1, startedAt);
    },
    decode,
    async put(eventId, outcome) {
      await redis.set(key(eventId), JSON.stringify(outcome), "EX", ttlSecs);
    },
  };
}

/**
 * A failed outcome stored before issue 27.5 kept the dead letter's headers instead of its
 * facts; such a record (kept DEDUPE_TTL_SECS) is read into facts, so its replay still
 * publishes the same dead letter.
 */
function decode(raw: string): StoredOutcome {
  const stored = JSON.parse(raw) as StoredOutcome | { kind: "failed"; payload: Record<string, unknown>; deadLetterHeaders: Record<string, unknown> };
  if (stored.kind !== "failed" || !("deadLetterHeaders" in stored)) return stored;
  const h = stored.deadLetterHeaders;
  const retryCount = typeof h[HEADERS.retryCount] === "number" ? (h[HEADERS.retryCount] as number) : 0;
  const error = String(h[HEADERS.errorMessage] ?? "");
  return {
    kind: "failed",
    payload: stored.payload,
    deadLetter: {
      reason: (h[WORK_HEADERS.deadLetterReason] as WorkerDeadLetterReason | undefined) ?? "permanent_error",
      permanent: h[HEADERS.permanentError] === true,
      error,
      retryCount,
      history: readAttemptHistory(h) ?? { runs: retryCount + 1, retries: retryCount, crashed: 0, lease_waits: 0, attempts: [] },
    },
  };
}
