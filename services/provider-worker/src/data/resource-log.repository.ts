import type { Redis } from "ioredis";
import type { LogLine } from "@pragma/provider-sdk";
import { defineScript } from "./redis-script";

/**
 * Per-resource lifecycle lines (GET /resources/{id}/logs) in a capped Redis list, so
 * whichever replica answers the logs request sees what every replica wrote.
 */
export interface ResourceLogRepository {
  append(resource: string, line: LogLine): Promise<void>;
  tail(resource: string, tail: number, since?: string): Promise<LogLine[]>;
}

const APPEND = `redis.call("rpush", KEYS[1], ARGV[1])
redis.call("ltrim", KEYS[1], tonumber(ARGV[2]), -1)
redis.call("expire", KEYS[1], tonumber(ARGV[3]))
return 1`;

export function redisResourceLog(redis: Redis, prefix: string, maxLines: number, ttlSecs: number): ResourceLogRepository {
  const key = (r: string) => `${prefix}log:${r}`;
  const appendScript = defineScript(redis, "pragmaWorkerLogAppend", 1, APPEND);
  return {
    async append(resource, line) {
      // One scripted command (by SHA) instead of MULTI, RPUSH, LTRIM, EXPIRE, EXEC: an event
      // appends two lines, and the five-command form was most of the worker's Redis traffic.
      await appendScript(key(resource), JSON.stringify(line), String(-maxLines), String(ttlSecs));
    },
    async tail(resource, tail, since) {
      const raw = await redis.lrange(key(resource), -Math.min(tail, maxLines), -1);
      const lines = raw.map((r) => JSON.parse(r) as LogLine);
      return since ? lines.filter((l) => l.at >= since) : lines;
    },
  };
}
