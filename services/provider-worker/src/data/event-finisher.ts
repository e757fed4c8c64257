import type { Redis } from "ioredis";
import type { LogLine } from "@pragma/provider-sdk";
import type { DedupeRepository, StoredOutcome } from "./dedupe.repository";
import type { Lease } from "./resource-lock";
import { APPEND_LUA, type ResourceLogRepository } from "./resource-log.repository";
import { defineScript } from "./redis-script";

/**
 * The end of a successful event in one Redis command instead of three: its outcome stored
 * for redeliveries (as DedupeRepository.put), its log lines appended (as
 * ResourceLogRepository.append), and the resource's lease released if still ours (as
 * Lease.release). A script runs whole, so a crash leaves all three or none.
 */
export interface EventFinisher {
  finish(eventId: string, outcome: StoredOutcome, resource: string, lines: LogLine[], lease: Lease): Promise<void>;
}

// KEYS: done, log, lock. ARGV: the outcome, its TTL, the lease token, then APPEND_LUA's arguments.
const FINISH = `redis.call("set", KEYS[1], ARGV[1], "EX", ARGV[2])
if #ARGV > 5 then
${APPEND_LUA("KEYS[2]", 4)}
end
if redis.call("get", KEYS[3]) == ARGV[3] then redis.call("del", KEYS[3]) end
return 1`;

export function redisEventFinisher(redis: Redis, dedupe: DedupeRepository, log: ResourceLogRepository, dedupeTtlSecs: number): EventFinisher {
  const script = defineScript(redis, "pragmaWorkerFinish", 3, FINISH);
  return {
    async finish(eventId, outcome, resource, lines, lease) {
      await script(dedupe.keyOf(eventId), log.keyOf(resource), lease.key, JSON.stringify(outcome), String(dedupeTtlSecs), lease.token, ...log.appendArgs(lines));
      lease.forget();
    },
  };
}
