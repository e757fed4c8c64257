import { createTestDatabase } from "./database";
import { testInfraUrls } from "./infra";
import { createVhost } from "./rabbit";
import { deleteKeysWithPrefix, testRedisPrefix } from "./redis-keys";

/** Everything one test file needs to run production code in isolation on shared servers. */
export interface TestEnv {
  /** A fresh database `t_<label>_<random>` on the test server. */
  databaseUrl: string;
  /** The broker, on a fresh vhost. */
  amqpUrl: string;
  vhost: string;
  /** The shared Redis server; isolation is by key prefix. */
  redisUrl: string;
  /** `t:<random>:`; give it to the code under test as its key prefix. */
  redisPrefix: string;
  /** Drops the database, deletes the vhost and the prefixed Redis keys. Idempotent. */
  dispose(): Promise<void>;
}

/**
 * Call once per test file (beforeAll) and dispose in afterAll. Parallel jest workers
 * share the servers, so every name is unique per call.
 */
export async function createTestEnv(label?: string): Promise<TestEnv> {
  const { redisUrl } = testInfraUrls();
  const redisPrefix = testRedisPrefix();
  const [db, vh] = await Promise.allSettled([createTestDatabase(label), createVhost(label)]);
  if (db.status === "rejected" || vh.status === "rejected") {
    await Promise.allSettled([db.status === "fulfilled" ? db.value.dispose() : undefined, vh.status === "fulfilled" ? vh.value.dispose() : undefined]);
    const errors = [db, vh].flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
    throw new AggregateError(errors, `createTestEnv failed: ${errors.map((e) => (e instanceof Error ? e.message : String(e))).join("; ")}`);
  }
  let disposing: Promise<void> | undefined;
  return {
    databaseUrl: db.value.databaseUrl,
    amqpUrl: vh.value.amqpUrl,
    vhost: vh.value.vhost,
    redisUrl,
    redisPrefix,
    dispose() {
      disposing ??= (async () => {
        const results = await Promise.allSettled([db.value.dispose(), vh.value.dispose(), deleteKeysWithPrefix(redisUrl, redisPrefix)]);
        const errors = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
        if (errors.length > 0) throw new AggregateError(errors, "TestEnv.dispose left something behind");
      })();
      return disposing;
    },
  };
}
