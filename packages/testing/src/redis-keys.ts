import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";

export function testRedisPrefix(): string {
  return `t:${randomBytes(8).toString("hex")}:`;
}

/** Escapes glob metacharacters so SCAN MATCH treats the prefix literally. */
export function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, "\\$&");
}

/** Deletes every key starting with `prefix`; returns how many went. SCAN, not KEYS, so a shared server is never blocked. */
export async function deleteKeysWithPrefix(redisUrl: string, prefix: string): Promise<number> {
  if (!prefix) throw new Error("refusing to delete keys with an empty prefix");
  const redis = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  await redis.connect();
  let deleted = 0;
  try {
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${globEscape(prefix)}*`, "COUNT", 1000);
      cursor = next;
      if (keys.length > 0) deleted += await redis.unlink(...keys);
    } while (cursor !== "0");
  } finally {
    await redis.quit().catch(() => redis.disconnect());
  }
  return deleted;
}
