import type { Redis } from "ioredis";

/** What a completed event produced, so a redelivery can repeat it without re-running the hook. */
export type StoredOutcome =
  | { kind: "succeeded"; payload: Record<string, unknown> }
  | { kind: "failed"; payload: Record<string, unknown>; deadLetterHeaders: Record<string, unknown> };

export interface DedupeRepository {
  get(eventId: string): Promise<StoredOutcome | null>;
  put(eventId: string, outcome: StoredOutcome): Promise<void>;
  /** Where an event's outcome is kept, and how to read it (for ResourceLocks.enter). */
  keyOf(eventId: string): string;
  /** Where the start times of an event's runs are kept (ResourceLocks.enter appends one per run). */
  runsKeyOf(eventId: string): string;
  decode(raw: string): StoredOutcome;
}

export function redisDedupe(redis: Redis, prefix: string, ttlSecs: number): DedupeRepository {
  const key = (id: string) => `${prefix}done:${id}`;
  return {
    async get(eventId) {
      const raw = await redis.get(key(eventId));
      return raw ? (JSON.parse(raw) as StoredOutcome) : null;
    },
    keyOf: key,
    runsKeyOf: (id) => `${prefix}runs:${id}`,
    decode: (raw) => JSON.parse(raw) as StoredOutcome,
    async put(eventId, outcome) {
      await redis.set(key(eventId), JSON.stringify(outcome), "EX", ttlSecs);
    },
  };
}
