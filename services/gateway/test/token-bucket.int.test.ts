import { Redis } from "ioredis";
import { newUlid } from "@pragma/ids";
import { deleteKeysWithPrefix, testInfraUrls, testRedisPrefix } from "@pragma/testing";
import { TokenBucket, leaseSize, type BucketLimit } from "../src/rate-limit/token-bucket";

/**
 * The bucket itself against the real Redis: exact per-request accounting for ordinary
 * limits, and for high limits leases that spare Redis a call per request without ever
 * admitting more than the bucket holds, across two replicas.
 */
const prefix = testRedisPrefix();
let clients: Redis[] = [];

beforeAll(() => {
  const url = testInfraUrls().redisUrl;
  clients = [new Redis(url, { lazyConnect: false }), new Redis(url, { lazyConnect: false })];
});
afterAll(async () => {
  await deleteKeysWithPrefix(testInfraUrls().redisUrl, prefix);
  await Promise.all(clients.map((c) => c.quit()));
});

/** A bucket on its own client, counting the script calls it makes. */
function replica(i: number) {
  const bucket = new TokenBucket(clients[i]!);
  const calls = { n: 0 };
  const client = clients[i] as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>;
  const original = client.pragmaTokenBucket!.bind(client);
  const counting = Object.create(client) as Record<string, unknown>;
  counting.pragmaTokenBucket = (...a: unknown[]) => {
    calls.n++;
    return original(...a);
  };
  (bucket as unknown as { redis: unknown }).redis = counting;
  return { bucket, calls };
}

const key = () => `${prefix}${newUlid()}`;

it("a lease is 5 ms of refill, within the burst; below 200/s it is one token", () => {
  expect(leaseSize({ requestsPerSecond: 100, burst: 200 })).toBe(1);
  expect(leaseSize({ requestsPerSecond: 1000, burst: 2000 })).toBe(5);
  expect(leaseSize({ requestsPerSecond: 1_000_000, burst: 1_000_000 })).toBe(500);
  expect(leaseSize({ requestsPerSecond: 1_000_000, burst: 3 })).toBe(3);
});

it("an ordinary limit asks Redis once per request and admits exactly the burst", async () => {
  const { bucket, calls } = replica(0);
  const k = key();
  const limit: BucketLimit = { requestsPerSecond: 0.001, burst: 10 };
  const decisions = await Promise.all(Array.from({ length: 15 }, () => bucket.take(k, limit)));
  expect(decisions.filter((d) => d.allowed)).toHaveLength(10);
  expect(calls.n).toBe(15);
  expect(decisions.filter((d) => d.allowed).map((d) => d.remaining).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  const denied = decisions.find((d) => !d.allowed)!;
  expect(denied).toMatchObject({ remaining: 0, limit: 10 });
  expect(denied.retryAfterSeconds).toBeGreaterThanOrEqual(1);
});

it("a high limit admits many requests per Redis call, and concurrent requests share one fetch", async () => {
  const { bucket, calls } = replica(0);
  const k = key();
  const limit: BucketLimit = { requestsPerSecond: 1_000_000, burst: 1_000_000 };
  const decisions = await Promise.all(Array.from({ length: 400 }, () => bucket.take(k, limit)));
  expect(decisions.every((d) => d.allowed)).toBe(true);
  // 400 requests in one tick: one lease of 500 serves them all.
  expect(calls.n).toBe(1);
  expect(decisions.every((d) => d.limit === 1_000_000 && d.remaining > 0)).toBe(true);
});

it("two replicas with leases never admit more than the bucket holds plus its refill", async () => {
  const k = key();
  // 2,000/s: leases of 10. Burst 40, so the bucket is exhausted within the test.
  const limit: BucketLimit = { requestsPerSecond: 2000, burst: 40 };
  const [a, b] = [replica(0), replica(1)];
  const started = Date.now();
  let admitted = 0;
  let denied = 0;
  for (let wave = 0; wave < 5; wave++) {
    const ds = await Promise.all(Array.from({ length: 60 }, (_, i) => (i % 2 === 0 ? a : b).bucket.take(k, limit)));
    admitted += ds.filter((d) => d.allowed).length;
    denied += ds.filter((d) => !d.allowed).length;
  }
  const elapsedS = (Date.now() - started) / 1000;
  // Tokens are taken from Redis before the requests they admit: never above burst + refill.
  expect(admitted).toBeLessThanOrEqual(40 + Math.ceil(2000 * elapsedS));
  expect(admitted).toBeGreaterThanOrEqual(40);
  expect(denied).toBeGreaterThan(0);
  // Fewer calls than requests, even while the bucket is nearly empty.
  expect(a.calls.n + b.calls.n).toBeLessThan(300);
});

it("an empty bucket is asked once by all the requests of a window, not by each", async () => {
  const { bucket, calls } = replica(0);
  const k = key();
  const limit: BucketLimit = { requestsPerSecond: 1000, burst: 5 };
  // Empty, and stamped a minute ahead so that nothing refills it during the test.
  await clients[0]!.hset(k, "tokens", "0", "ts", String(Date.now() + 60_000));
  const denied = await Promise.all(Array.from({ length: 20 }, () => bucket.take(k, limit)));
  expect(denied.every((d) => !d.allowed)).toBe(true);
  expect(calls.n).toBe(1);
  expect(denied[0]).toMatchObject({ remaining: 0, limit: 5 });
  expect(denied[0]!.retryAfterSeconds).toBeGreaterThanOrEqual(1);
});

it("a failing Redis fails every waiting request (the middleware then fails open), and the next request tries again", async () => {
  const { bucket } = replica(0);
  const k = key();
  const limit: BucketLimit = { requestsPerSecond: 1_000_000, burst: 1_000_000 };
  const internals = bucket as unknown as { redis: Record<string, unknown> };
  const working = internals.redis.pragmaTokenBucket;
  internals.redis.pragmaTokenBucket = () => Promise.reject(new Error("redis down"));
  const failed = await Promise.allSettled(Array.from({ length: 3 }, () => bucket.take(k, limit)));
  expect(failed.map((f) => f.status)).toEqual(["rejected", "rejected", "rejected"]);
  internals.redis.pragmaTokenBucket = working;
  expect((await bucket.take(k, limit)).allowed).toBe(true);
});
