import type { Redis } from "ioredis";
import type { LogLine } from "@pragma/provider-sdk";
import { defineScript } from "./redis-script";

/**
 * Per-resource lifecycle lines (GET /resources/{id}/logs) in a capped Redis list, so
 * whichever replica answers the logs request sees what every replica wrote.
 */
export interface ResourceLogRepository {
  /** Appends the lines in order, in one command. */
  append(resource: string, ...lines: LogLine[]): Promise<void>;
  tail(resource: string, tail: number, since?: string): Promise<LogLine[]>;
  /** Where a resource's lines are kept, and the arguments APPEND_LUA takes after its key (EventFinisher appends in its own script). */
  keyOf(resource: string): string;
  appendArgs(lines: LogLine[]): string[];
}

/** Appends to list `key`: ARGV[from] -maxLines, ARGV[from+1] TTL seconds, ARGV[from+2..] the lines. Shared with EventFinisher's script. */
export const APPEND_LUA = (key: string, from: number) => `redis.call("rpush", ${key}, unpack(ARGV, ${from + 2}))
redis.call("ltrim", ${key}, tonumber(ARGV[${from}]), -1)
redis.call("expire", ${key}, tonumber(ARGV[${from + 1}]))`;

// ARGV: keep (as a negative start index), ttl, then the lines.
const APPEND = `${APPEND_LUA("KEYS[1]", 1)}
return 1`;

export function redisResourceLog(redis: Redis, prefix: string, maxLines: number, ttlSecs: number): ResourceLogRepository {
  const key = (r: string) => `${prefix}log:${r}`;
  const appendScript = defineScript(redis, "pragmaWorkerLogAppend", 1, APPEND);
  const appendArgs = (lines: LogLine[]) => [String(-maxLines), String(ttlSecs), ...lines.map((l) => JSON.stringify(l))];
  return {
    async append(resource, ...lines) {
      // One scripted command (by SHA) instead of MULTI, RPUSH, LTRIM, EXPIRE, EXEC: an event
      // appends two lines, and the five-command form was most of the worker's Redis traffic.
      if (lines.length === 0) return;
      await appendScript(key(resource), ...appendArgs(lines));
    },
    keyOf: key,
    appendArgs,
    async tail(resource, tail, since) {
      const raw = await redis.lrange(key(resource), -Math.min(tail, maxLines), -1);
      const lines = raw.map((r) => JSON.parse(r) as LogLine);
      return since ? lines.filter((l) => l.at >= since) : lines;
    },
  };
}
