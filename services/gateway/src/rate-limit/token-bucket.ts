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
 */
const SCRIPT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local cost = tonumber(ARGV[3])
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
local allowed = 0
if tokens >= cost then
  tokens = tokens - cost
  allowed = 1
end
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens), 'ts', string.format('%d', ts))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return {allowed, string.format('%.6f', tokens)}
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
  pragmaTokenBucket(key: string, rate: string, burst: string, cost: string): Promise<[number, string]>;
}

export class TokenBucket {
  constructor(private readonly redis: Redis) {
    if (!("pragmaTokenBucket" in redis)) redis.defineCommand("pragmaTokenBucket", { numberOfKeys: 1, lua: SCRIPT });
  }

  async take(key: string, limit: BucketLimit, cost = 1): Promise<BucketDecision> {
    const [allowed, tokensRaw] = await (this.redis as unknown as WithBucket).pragmaTokenBucket(
      key,
      String(limit.requestsPerSecond),
      String(limit.burst),
      String(cost),
    );
    const tokens = Number(tokensRaw);
    const rate = limit.requestsPerSecond;
    return {
      allowed: allowed === 1,
      limit: limit.burst,
      remaining: Math.max(0, Math.floor(tokens)),
      resetSeconds: Math.max(0, Math.ceil((limit.burst - tokens) / rate)),
      retryAfterSeconds: allowed === 1 ? 0 : Math.max(1, Math.ceil((cost - tokens) / rate)),
    };
  }
}
