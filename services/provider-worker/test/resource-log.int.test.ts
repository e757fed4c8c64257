import { Redis } from "ioredis";
import { createTestEnv, type TestEnv } from "@pragma/testing";
import { redisResourceLog } from "../src/data/resource-log.repository";

describe("resource log in Redis (one scripted command per line)", () => {
  let env: TestEnv;
  let redis: Redis;

  beforeAll(async () => {
    env = await createTestEnv("worker-resource-log");
    redis = new Redis(env.redisUrl, { maxRetriesPerRequest: 2 });
  });
  afterAll(async () => {
    redis?.disconnect();
    await env?.dispose();
  });

  it("keeps the last RESOURCE_LOG_LINES lines in order, with the key's expiry renewed on each append", async () => {
    const log = redisResourceLog(redis, env.redisPrefix, 3, 60);
    for (let i = 1; i <= 5; i++) await log.append("r1", { at: `2026-01-01T00:00:0${i}.000Z`, level: "info", message: `line ${i}` });
    const lines = await log.tail("r1", 10);
    expect(lines.map((l) => l.message)).toEqual(["line 3", "line 4", "line 5"]);
    expect(await log.tail("r1", 2, "2026-01-01T00:00:05.000Z")).toEqual([{ at: "2026-01-01T00:00:05.000Z", level: "info", message: "line 5" }]);
    const ttl = await redis.ttl(`${env.redisPrefix}log:r1`);
    expect(ttl).toBeGreaterThan(50);
    expect(ttl).toBeLessThanOrEqual(60);
    // After a SCRIPT FLUSH (a Redis restart loses scripts too) the next append still works.
    await redis.script("FLUSH");
    await log.append("r1", { at: "2026-01-01T00:00:06.000Z", level: "info", message: "line 6" });
    expect((await log.tail("r1", 10)).map((l) => l.message)).toEqual(["line 4", "line 5", "line 6"]);
    // Several lines in one command, in order, still capped.
    await log.append("r1", { at: "2026-01-01T00:00:07.000Z", level: "info", message: "line 7" }, { at: "2026-01-01T00:00:08.000Z", level: "info", message: "line 8" });
    expect((await log.tail("r1", 10)).map((l) => l.message)).toEqual(["line 6", "line 7", "line 8"]);
  });
});
