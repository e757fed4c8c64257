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

/** Where an event's outcome and its runs' start times are kept (DedupeRepository's keys). */
export interface EventKeys {
  done: string;
  runs: string;
}

/**
 * How entering a resource ended: the event already completed (its raw outcome); the lease
 * taken (runs: the start times of the event's earlier runs); or busy: a live holder has the
 * resource, or a dead one whose liveness key has yet to expire.
 */
export type LockEntry = { done: string } | { lease: Lease; runs: string[]; recorded: boolean } | { busy: true };

export interface ResourceLocks {
  /**
   * One try, never a wait: a delivery that waited here would hold its message unacked, and
   * every crash of this replica meanwhile would spend one of the broker's x-delivery-limit
   * deliveries although no hook ran (issue 27.5). The caller parks a busy event in a delay
   * queue instead. Checking the outcome, taking the lease and reading the earlier runs are
   * one script: an event seen as not done cannot complete elsewhere before we hold its
   * resource. The caller records a run (DedupeRepository.recordRun) only when it starts a
   * hook; with firstRunAt the script records the first run itself when the event has none
   * (recorded: true), saving the common case a round trip.
   */
  enter(resource: string, eventId: string, keys: EventKeys, firstRunAt?: string): Promise<LockEntry>;
  /** Keeps this replica's liveness key fresh; stop() removes it. */
  startHeartbeat(): { stop(): Promise<void> };
}

const RENEW = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end`;
const RELEASE = `if redis.call("get", KEYS[1]) == ARGV[1] then return redis.call("del", KEYS[1]) else return 0 end`;
// KEYS: done, lock, runs. ARGV: token, lease TTL ms, the holder judged dead ("": take only a
// free lease), the first run's start time ("": record none) and the runs' TTL in seconds. Taking over only the exact lease judged abandoned means
// two contenders cannot both win.
const ENTER = `local done = redis.call("get", KEYS[1])
if done then return {1, done} end
local holder = redis.call("get", KEYS[2])
if holder and holder ~= ARGV[5] then return {0, holder} end
redis.call("set", KEYS[2], ARGV[1], "PX", ARGV[2])
local runs = redis.call("lrange", KEYS[3], 0, -1)
if #runs == 0 and ARGV[4] ~= "" then
  redis.call("rpush", KEYS[3], ARGV[4])
  redis.call("expire", KEYS[3], ARGV[5])
  return {2, runs, 1}
end
return {2, runs, 0}`;

export interface LockOptions {
  prefix: string;
  instanceId: string;
  ttlMs: number;
  /** A replica whose liveness key is older than this is dead, and its leases are free. */
  aliveTtlMs: number;
  /** How long an event's run start times are kept (as long as its outcome). */
  runsTtlSecs: number;
  onLost(key: string): void;
}

/**
 * A lease per resource: a key holding the holder's instance id, renewed while the hook
 * runs and released only by its holder. A replica killed mid-hook leaves its lease
 * behind; the lease names the replica, and once that replica's liveness key expires
 * (a few seconds, not the lease TTL) the next delivery takes the lease over.
 */
export function redisLocks(redis: Redis, o: LockOptions): ResourceLocks {
  const aliveKey = (instance: string) => `${o.prefix}alive:${instance}`;
  const enterScript = defineScript(redis, "pragmaWorkerEnter", 3, ENTER);
  const renewScript = defineScript(redis, "pragmaWorkerRenew", 1, RENEW);
  const releaseScript = defineScript(redis, "pragmaWorkerRelease", 1, RELEASE);

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
    async enter(resource, eventId, keys, firstRunAt) {
      const key = lockKey(resource);
      const token = tokenOf(eventId);
      const run = async (deadHolder: string): Promise<LockEntry | { holder: string }> => {
        const [state, value, recorded] = (await enterScript(keys.done, key, keys.runs, token, String(o.ttlMs), deadHolder, firstRunAt ?? "", String(o.runsTtlSecs))) as [number, string | string[], number?];
        if (state === 1) return { done: value as string };
        if (state === 2) return { lease: leaseOf(resource, key, token), runs: value as string[], recorded: recorded === 1 };
        return { holder: value as string };
      };
      const first = await run("");
      if (!("holder" in first)) return first;
      // A holder whose replica stopped beating is dead: its lease is ours to take over.
      const instance = first.holder.split("|")[0] ?? "";
      if ((await redis.exists(aliveKey(instance))) === 1) return { busy: true };
      const second = await run(first.holder);
      return "holder" in second ? { busy: true } : second;
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
