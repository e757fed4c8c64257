import { connect } from "amqplib";
import { Redis } from "ioredis";
import { Client } from "pg";
import { checkInfra, createTestEnv, testInfraUrls, type TestEnv } from "@pragma/testing";

async function sql<T extends object>(url: string, text: string): Promise<T[]> {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(text)).rows;
  } finally {
    await c.end();
  }
}

async function databaseExists(databaseUrl: string): Promise<boolean> {
  const name = new URL(databaseUrl).pathname.slice(1);
  const rows = await sql<{ n: number }>(testInfraUrls().databaseUrl, `SELECT count(*)::int AS n FROM pg_database WHERE datname = '${name}'`);
  return rows[0]?.n === 1;
}

async function vhostExists(vhost: string): Promise<boolean> {
  const u = new URL(testInfraUrls().rabbitmqMgmtUrl);
  const auth = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString("base64")}`;
  const res = await fetch(`${u.protocol}//${u.host}/api/vhosts/${encodeURIComponent(vhost)}`, { headers: { authorization: auth } });
  if (res.status === 404) return false;
  if (!res.ok) throw new Error(`management API answered ${res.status}`);
  return true;
}

describe("createTestEnv", () => {
  let a: TestEnv;
  let b: TestEnv;

  beforeAll(async () => {
    [a, b] = await Promise.all([createTestEnv("env_a"), createTestEnv("env_b")]);
  });

  afterAll(async () => {
    await Promise.allSettled([a?.dispose(), b?.dispose()]);
  });

  it("gives each env its own database", async () => {
    expect(new URL(a.databaseUrl).pathname).toMatch(/^\/t_env_a_[0-9a-f]+$/);
    await sql(a.databaseUrl, "CREATE TABLE only_in_a (id int); INSERT INTO only_in_a VALUES (1)");

    expect(await sql(a.databaseUrl, "SELECT id FROM only_in_a")).toEqual([{ id: 1 }]);
    await expect(sql(b.databaseUrl, "SELECT id FROM only_in_a")).rejects.toThrow(/relation "only_in_a" does not exist/);
  });

  it("gives each env a working vhost that others cannot see into", async () => {
    expect(a.vhost).not.toBe(b.vhost);
    const connA = await connect(a.amqpUrl);
    const connB = await connect(b.amqpUrl);
    try {
      const chA = await connA.createChannel();
      await chA.assertQueue("jobs", { durable: false });
      chA.sendToQueue("jobs", Buffer.from("hello"));
      await new Promise((r) => setTimeout(r, 50));
      const got = await chA.get("jobs", { noAck: true });
      expect(got && got.content.toString()).toBe("hello");

      const chB = await connB.createChannel();
      // The broker closes the channel on a 404; that close is the expected outcome, not a crash.
      chB.on("error", () => undefined);
      // A passive declare of a queue that only exists in a's vhost closes b's channel with 404.
      await expect(chB.checkQueue("jobs")).rejects.toThrow(/NOT_FOUND/);
    } finally {
      await connA.close().catch(() => undefined);
      await connB.close().catch(() => undefined);
    }
  });

  it("hands out distinct Redis prefixes on the shared server", () => {
    expect(a.redisPrefix).toMatch(/^t:[0-9a-f]+:$/);
    expect(a.redisPrefix).not.toBe(b.redisPrefix);
    expect(a.redisUrl).toBe(testInfraUrls().redisUrl);
  });

  it("dispose drops the database, deletes the vhost and only its own Redis keys", async () => {
    const env = await createTestEnv("dispose");
    const redis = new Redis(env.redisUrl);
    try {
      await redis.set(`${env.redisPrefix}one`, "1");
      await redis.hset(`${env.redisPrefix}two`, "f", "v");
      await redis.set(`${b.redisPrefix}keep`, "1");
      // A connection left open must not stop the database being dropped.
      const leaked = new Client({ connectionString: env.databaseUrl });
      leaked.on("error", () => undefined);
      await leaked.connect();

      expect(await databaseExists(env.databaseUrl)).toBe(true);
      expect(await vhostExists(env.vhost)).toBe(true);

      await env.dispose();

      expect(await databaseExists(env.databaseUrl)).toBe(false);
      expect(await vhostExists(env.vhost)).toBe(false);
      expect(await redis.exists(`${env.redisPrefix}one`, `${env.redisPrefix}two`)).toBe(0);
      expect(await redis.get(`${b.redisPrefix}keep`)).toBe("1");
      await env.dispose(); // idempotent
      await leaked.end().catch(() => undefined);
    } finally {
      await redis.quit();
    }
  });
});

describe("checkInfra", () => {
  it("fails loudly, naming every unreachable service and how to start it", async () => {
    const dead = { databaseUrl: "postgresql://postgres@127.0.0.1:1/postgres", amqpUrl: "amqp://guest:secret@127.0.0.1:1", rabbitmqMgmtUrl: "http://guest:secret@127.0.0.1:1", redisUrl: "redis://127.0.0.1:1" };
    const err = await checkInfra(dead).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err).toBeInstanceOf(Error);
    const message = err!.message;
    expect(message).toMatch(/PostgreSQL at postgresql:\/\/postgres@127.0.0.1:1\/postgres/);
    expect(message).toMatch(/pg_ctlcluster/);
    expect(message).toMatch(/RabbitMQ \(AMQP\) at amqp:\/\/guest:\*\*\*@127.0.0.1:1/);
    expect(message).toMatch(/rabbitmq-plugins enable rabbitmq_management/);
    expect(message).toMatch(/Redis at redis:\/\/127.0.0.1:1/);
    expect(message).toMatch(/PRAGMA_TEST_REDIS_URL/);
    expect(message).not.toMatch(/secret/);
  });

  it("passes against the infrastructure this run uses", async () => {
    await expect(checkInfra(testInfraUrls())).resolves.toBeUndefined();
  });
});
