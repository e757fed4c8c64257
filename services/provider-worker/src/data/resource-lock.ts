import type { Redis } from "ioredis";

export interface Lease {
  /** false once the lease could not be renewed (another holder may have taken over). */
  readonly held: boolean;
  release(): Promise<void>;
}

export interface ResourceLocks {
  /** null when another holder has the resource. */
  acquire(key: string, token: string): Promise<Lease | null>;
}

const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;

/**
 * A lease per resource: SET NX PX with a token, renewed at a third of its TTL while the
 * hook runs, released only by its holder. The TTL only matters when a replica dies
 * holding it (the lease then frees itself); a live holder keeps it as long as it works.
 */
export function redisLocks(redis: Redis, prefix: string, ttlMs: number, onLost: (key: string) => void): ResourceLocks {
  return {
    async acquire(resource, token) {
      const key = `${prefix}lock:${resource}`;
      const ok = await redis.set(key, token, "PX", ttlMs, "NX");
      if (ok !== "OK") return null;
      let held = true;
      const timer = setInterval(() => {
        redis
          .eval(RENEW, 1, key, token, String(ttlMs))
          .then((r) => {
            if (Number(r) !== 1 && held) {
              held = false;
              onLost(resource);
            }
          })
          .catch(() => undefined); // a blip is retried on the next tick; the TTL covers three ticks
      }, Math.max(250, Math.floor(ttlMs / 3)));
      timer.unref();
      return {
        get held() {
          return held;
        },
        async release() {
          clearInterval(timer);
          held = false;
          await redis.eval(RELEASE, 1, key, token);
        },
      };
    },
  };
}
