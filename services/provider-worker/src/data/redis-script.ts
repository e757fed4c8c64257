import type { Redis } from "ioredis";

/** A Lua script loaded once and then called by its SHA (ioredis falls back to EVAL after a script flush). */
export function defineScript(redis: Redis, name: string, numberOfKeys: number, lua: string): (...args: string[]) => Promise<unknown> {
  redis.defineCommand(name, { numberOfKeys, lua });
  const command = (redis as unknown as Record<string, (...args: string[]) => Promise<unknown>>)[name]!;
  return (...args) => command.apply(redis, args);
}
