import type { Redis } from "ioredis";

/**
 * A token bucket in one Lua script, so take-and-refill is atomic across every
 * gateway replica sharing the Redis. The clock is Redis's own (TIME), which keeps
 * replicas with skewed clocks from minting tokens. rate-limiter-flexible has no
 * token bucket (its Redis limiter is a fixed window, which admits up to twice the
 * limit across a window edge), hence a script of our own.
 *
 * State: hash {tokens, ts(ms)}; it expires once the bucket would be full again,
 * so idle orgs cost no memory.
 *
 * The script grants up to ARGV[3] tokens at once (all it has, when it has fewer). A
 * request asks for one; see TokenBucket for when a gateway asks for more.
 */
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens = tonumber(state[1])
local ts = tonumber(state[2])
if tokens == nil or ts == nil then
  tokens = burst
  ts = now
end
if now > ts then
  tokens = math.min(burst, tokens + (now - ts) * rate / 1000)
  ts = now
end
if tokens > burst then tokens = burst end
local granted = 0
if tokens >= 1 then
  granted = math.min(want, math.floor(tokens))
  tokens = tokens - granted
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%d', ts))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {granted, string.format('%.6f', tokens)}
`;

export interface BucketLimit {
  /** Refill rate, tokens per second. */
  requestsPerSecond: number;
  /** Bucket capacity: the largest burst admitted at once. */
  burst: number;
}

export interface BucketDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Seconds until the bucket is full again. */
  resetSeconds: number;
  /** Seconds until one more request would be admitted (0 when allowed). */
  retryAfterSeconds: number;
}

interface WithBucket {
  pragmaTokenBucket(key: string, rate: string, burst: string, want: string): Promise<[number, string]>;
}

/**
 * How much of an org's refill one gateway takes from Redis at once: LEASE_WINDOW_MS worth.
 * Below 200 requests/s that is one token, and every request asks Redis, as before.
 */
export const LEASE_WINDOW_MS = 5;
const MAX_LEASE = 500;
/** Past this many remembered orgs, expired leases are swept on the next fetch. */
const SWEEP_AT = 10_000;

interface Lease {
  /** The limit it was taken under: a changed limit takes a new lease. */
  sig: string;
  /** Tokens taken from Redis and not yet handed to a request. */
  left: number;
  /** Tokens the bucket in Redis had after the grant (for RateLimit-Remaining). */
  bucketTokens: number;
  /** What Redis granted (0: the bucket was empty). */
  granted: number;
  expiresAt: number;
  fetching: Promise<void> | null;
}

/**
 * Per-org token bucket in Redis, shared by every gateway replica. Where an org's limit is
 * high (at least 2 requests per lease window), a gateway takes a lease of up to
 * LEASE_WINDOW_MS of refill in one call and admits that many requests from memory
 * until it is spent or expires (unspent tokens are then dropped, never returned).
 * Tokens are always taken from the bucket before the requests they admit, so the
 * limit is never exceeded across replicas; the cost is that a replica's unspent lease
 * (at most LEASE_WINDOW_MS of refill, at most MAX_LEASE tokens) is unavailable to the
 * others for that long, and admission runs up to LEASE_WINDOW_MS ahead of the bucket.
 * Requests arriving while a lease is being fetched wait for it instead of asking too.
 * Low limits (the common case, and every test of exact allowances) keep one Redis call
 * per request, with exact accounting.
 */
export class TokenBucket {
  private readonly leases = new Map<string, Lease>();

  constructor(private readonly redis: Redis) {
    if (!("pragmaTokenBucket" in redis)) redis.defineCommand("pragmaTokenBucket", { numberOfKeys: 1, lua: SCRIPT });
  }

  async take(key: string, limit: BucketLimit): Promise<BucketDecision> {
    const size = leaseSize(limit);
    if (size <= 1) {
      const { granted, tokens } = await this.ask(key, limit, 1);
      return decide(limit, granted === 1, tokens);
    }
    const sig = `${limit.requestsPerSecond}/${limit.burst}`;
    // From a lease: one being fetched (wait for it), or a live one with tokens left, or a
    // live one whose fetch found the bucket empty (denied without asking again until it
    // expires). Otherwise fetch the next lease. A request that keeps losing its lease's
    // tokens to others gives up after a few rounds and asks for its own token.
    for (let round = 0; round < 3; round++) {
      const found = this.leases.get(key);
      let lease = found && found.sig === sig ? found : undefined;
      if (lease?.fetching) await lease.fetching;
      else if (!lease || lease.expiresAt <= Date.now() || (lease.left === 0 && lease.granted > 0)) lease = await this.fetchLease(key, limit, sig, size);
      if (lease.granted === 0) return decide(limit, false, lease.bucketTokens);
      if (lease.left > 0) {
        lease.left--;
        return decide(limit, true, lease.bucketTokens + lease.left);
      }
    }
    const { granted, tokens } = await this.ask(key, limit, 1);
    return decide(limit, granted === 1, tokens);
  }

  private async fetchLease(key: string, limit: BucketLimit, sig: string, size: number): Promise<Lease> {
    if (this.leases.size >= SWEEP_AT) {
      const now = Date.now();
      for (const [k, l] of this.leases) if (l.expiresAt <= now && !l.fetching) this.leases.delete(k);
    }
    const lease: Lease = { sig, left: 0, bucketTokens: 0, granted: 0, expiresAt: 0, fetching: null };
    this.leases.set(key, lease);
    lease.fetching = this.ask(key, limit, size)
      .then(({ granted, tokens }) => {
        lease.granted = granted;
        lease.left = granted;
        lease.bucketTokens = tokens;
        lease.expiresAt = Date.now() + LEASE_WINDOW_MS;
      })
      .catch((err: unknown) => {
        if (this.leases.get(key) === lease) this.leases.delete(key);
        throw err;
      })
      .finally(() => {
        lease.fetching = null;
      });
    await lease.fetching;
    return lease;
  }

  private async ask(key: string, limit: BucketLimit, want: number): Promise<{ granted: number; tokens: number }> {
    const [granted, tokensRaw] = await (this.redis as unknown as WithBucket).pragmaTokenBucket(key, String(limit.requestsPerSecond), String(limit.burst), String(want));
    return { granted: Number(granted), tokens: Number(tokensRaw) };
  }
}

/** Tokens per lease for this limit: LEASE_WINDOW_MS of refill, within the burst and MAX_LEASE. */
export function leaseSize(limit: BucketLimit): number {
  return Math.max(1, Math.min(MAX_LEASE, Math.floor(limit.burst), Math.floor((limit.requestsPerSecond * LEASE_WINDOW_MS) / 1000)));
}

function decide(limit: BucketLimit, allowed: boolean, tokens: number): BucketDecision {
  const rate = limit.requestsPerSecond;
  return {
    allowed,
    limit: limit.burst,
    remaining: Math.max(0, Math.floor(tokens)),
    resetSeconds: Math.max(0, Math.ceil((limit.burst - tokens) / rate)),
    retryAfterSeconds: allowed ? 0 : Math.max(1, Math.ceil((1 - tokens) / rate)),
  };
}
