import type { Redis } from "ioredis";
import { defineScript } from "./redis-script";

export interface Lease {
  /** false once the lease could not be renewed (another holder may have taken over). */
  readonly held: boolean;
  /** The lock key and this holder's token, for a script that releases the lease with other writes (EventFinisher). */
  readonly key: string;
  readonly token: string;
  release(): Promise<void>;
  /** Released by such a script: stop renewing, without a command of its own. */
  forget(): void;
}

export interface ResourceLocks {
  /** Waits up to the configured time; null when a live holder still has the resource. */
  acquire(key: string, eventId: string): Promise<Lease | null>;
  /**
   * The common case in one round trip: the raw outcome stored at doneKey when the event
   * already completed, else the lease when the resource is free; null when a holder has it
   * (then acquire() waits, judges the holder's liveness, and the caller re-checks doneKey).
   */
  enter(key: string, eventId: string, doneKey: string): Promise<{ done: string } | { lease: Lease } | null>;
  /** Keeps this replica's liveness key fresh; stop() removes it. */
  startHeartbeat(): { stop(): Promise<void> };
}

const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
// Take over only the exact lease we judged abandoned, so two contenders cannot both win.
// Atomic, so an event seen as not done cannot complete elsewhere before we hold its resource.
const ENTER = `local done = redis.call("get", KEYS[1])
if done then return {1, done} end
if redis.call("set", KEYS[2], ARGV[1], "PX", ARGV[2], "NX") then return {2} end
return {0}`;
const STEAL = `if redis.call("get", KEYS[1]) == ARGV[1] then redis.call("set", KEYS[1], ARGV[2], "PX", ARGV[3]) return 1 else return 0 end`;

export interface LockOptions {
  prefix: string;
  instanceId: string;
  ttlMs: number;
  /** A replica whose liveness key is older than this is dead, and its leases are free. */
  aliveTtlMs: number;
  /** How long a delivery waits for a live holder before it is parked in a delay tier. */
  waitMs: number;
  onLost(key: string): void;
}

/**
 * A lease per resource: SET NX PX with the holder's instance id, renewed while the hook
 * runs and released only by its holder. A replica killed mid-hook leaves its lease
 * behind; the lease names the replica, and once that replica's liveness key expires
 * (a few seconds, not the lease TTL) the next delivery takes the lease over.
 */
export function redisLocks(redis: Redis, o: LockOptions): ResourceLocks {
  const aliveKey = (instance: string) => `${o.prefix}alive:${instance}`;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const enterScript = defineScript(redis, "pragmaWorkerEnter", 2, ENTER);
  const renewScript = defineScript(redis, "pragmaWorkerRenew", 1, RENEW);
  const releaseScript = defineScript(redis, "pragmaWorkerRelease", 1, RELEASE);
  const stealScript = defineScript(redis, "pragmaWorkerSteal", 1, STEAL);

  async function tryTake(key: string, token: string): Promise<boolean> {
    if ((await redis.set(key, token, "PX", o.ttlMs, "NX")) === "OK") return true;
    const holder = await redis.get(key);
    if (holder === null) return false; // freed meanwhile: the next round takes it
    const instance = holder.split("|")[0] ?? "";
    if ((await redis.exists(aliveKey(instance))) === 1) return false;
    return Number(await stealScript(key, holder, token, String(o.ttlMs))) === 1;
  }

  const lockKey = (resource: string) => `${o.prefix}lock:${resource}`;
  const tokenOf = (eventId: string) => `${o.instanceId}|${eventId}`;

  /** The lease we hold: renewed while held, lost if someone else took it over. */
  function leaseOf(resource: string, key: string, token: string): Lease {
    let held = true;
    const timer = setInterval(() => {
      renewScript(key, token, String(o.ttlMs))
        .then((r) => {
          if (Number(r) !== 1 && held) {
            held = false;
            o.onLost(resource);
          }
        })
        .catch(() => undefined); // a blip is retried on the next tick; the TTL covers three ticks
    }, Math.max(250, Math.floor(o.ttlMs / 3)));
    timer.unref();
    return {
      get held() {
        return held;
      },
      key,
      token,
      async release() {
        clearInterval(timer);
        held = false;
        await releaseScript(key, token);
      },
      forget() {
        clearInterval(timer);
        held = false;
      },
    };
  }

  return {
    async acquire(resource, eventId) {
      const key = lockKey(resource);
      const token = tokenOf(eventId);
      const deadline = Date.now() + o.waitMs;
      while (!(await tryTake(key, token))) {
        if (Date.now() >= deadline) return null;
        await sleep(100 + Math.floor(Math.random() * 100));
      }
      return leaseOf(resource, key, token);
    },
    async enter(resource, eventId, doneKey) {
      const key = lockKey(resource);
      const token = tokenOf(eventId);
      const [state, done] = (await enterScript(doneKey, key, token, String(o.ttlMs))) as [number, string?];
      if (state === 1) return { done: done! };
      return state === 2 ? { lease: leaseOf(resource, key, token) } : null;
    },
    startHeartbeat() {
      const beat = () => redis.set(aliveKey(o.instanceId), "1", "PX", o.aliveTtlMs).catch(() => undefined);
      void beat();
      const timer = setInterval(beat, Math.max(100, Math.floor(o.aliveTtlMs / 4)));
      timer.unref();
      return {
        async stop() {
          clearInterval(timer);
          await redis.del(aliveKey(o.instanceId)).catch(() => undefined);
        },
      };
    },
  };
}
