import { randomFillSync } from "node:crypto";
import { encodeTime, monotonicFactory } from "ulid";

/**
 * One table of id prefixes for the whole system. Organizations are the exception:
 * their ids are client-supplied bare ULIDs (seed 000), so they have no prefix here.
 */
export const ID_PREFIXES = {
  project: "prj",
  space: "spc",
  resource: "res",
  event: "evt",
  apiKey: "key",
  request: "req",
  message: "msg",
  // A drift observation of a resource (api.md §9).
  observation: "obs",
} as const;

export type IdKind = keyof typeof ID_PREFIXES;

// ulid's own PRNG calls crypto.randomBytes(1) for each of the 16 random characters of
// every id (6% of the gateway's CPU under load); this one draws the same
// cryptographic bytes from a pooled buffer. byte/256 is uniform over the 32 characters.
// A Uint8Array, not a Buffer: the console bundles this module (through the contracts) and a
// browser has no Buffer.
const pool = new Uint8Array(4096);
let poolPos = pool.length;
export function pooledRandom(): number {
  if (poolPos >= pool.length) {
    randomFillSync(pool);
    poolPos = 0;
  }
  return pool[poolPos++]! / 256;
}

// Monotonic so ids minted in the same millisecond still sort in creation order
// (outbox relay order and pagination rely on that).
const nextUlid = monotonicFactory(pooledRandom);

export function newId(kind: IdKind): string {
  return `${ID_PREFIXES[kind]}_${nextUlid()}`;
}

/** Every id of this kind minted before `time` sorts below this one (the ULID's time part leads). */
export function idsBefore(kind: IdKind, time: Date): string {
  return `${ID_PREFIXES[kind]}_${encodeTime(time.getTime(), 10)}`;
}

export function newUlid(): string {
  return nextUlid();
}

/**
 * A ULID: 26 Crockford base32 characters, case-insensitive. The first carries the top 3
 * bits of the 48-bit time, so it is 0-7: "8ZZZ…" decodes past 2^48 ms and no ULID library
 * mints or round-trips it (the `ulid` package's isValid accepted it). The one rule for ids
 * everywhere; contracts use the pattern, code calls isUlid.
 */
export const ULID_RE = /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/i;

export function isUlid(value: unknown): value is string {
  return typeof value === "string" && ULID_RE.test(value);
}

export function hasPrefix(kind: IdKind, value: unknown): value is string {
  if (typeof value !== "string") return false;
  const prefix = `${ID_PREFIXES[kind]}_`;
  return value.startsWith(prefix) && isUlid(value.slice(prefix.length));
}
