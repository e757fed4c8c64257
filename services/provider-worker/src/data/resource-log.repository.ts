import type { Redis } from "ioredis";
import type { LogLine } from "@pragma/provider-sdk";

/**
 * Per-resource lifecycle lines (GET /resources/{id}/logs) in a capped Redis list, so
 * whichever replica answers the logs request sees what every replica wrote.
 */
export interface ResourceLogRepository {
  append(resource: string, line: LogLine): Promise<void>;
  tail(resource: string, tail: number, since?: string): Promise<LogLine[]>;
}

export function redisResourceLog(redis: Redis, prefix: string, maxLines: number, ttlSecs: number): ResourceLogRepository {
  const key = (r: string) => `${prefix}log:${r}`;
  return {
    async append(resource, line) {
      await redis.multi().rpush(key(resource), JSON.stringify(line)).ltrim(key(resource), -maxLines, -1).expire(key(resource), ttlSecs).exec();
    },
    async tail(resource, tail, since) {
      const raw = await redis.lrange(key(resource), -Math.min(tail, maxLines), -1);
      const lines = raw.map((r) => JSON.parse(r) as LogLine);
      return since ? lines.filter((l) => l.at >= since) : lines;
    },
  };
}
