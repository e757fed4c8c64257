import { Client } from "pg";
import { Redis } from "ioredis";
import { connect as amqpConnect } from "amqplib";
import { splitCredentials } from "./rabbit";

/** Where the integration tests' PostgreSQL, RabbitMQ and Redis live. */
export interface TestInfraUrls {
  /** A server URL with a maintenance database; tests create their own databases on this server. */
  databaseUrl: string;
  /** The broker on its default vhost; tests create their own vhosts. */
  amqpUrl: string;
  /** RabbitMQ management API base, credentials in the URL. */
  rabbitmqMgmtUrl: string;
  redisUrl: string;
}

export const LOCAL_DEFAULTS: TestInfraUrls = {
  databaseUrl: "postgresql://postgres@127.0.0.1:5432/postgres",
  amqpUrl: "amqp://guest:guest@127.0.0.1:5672",
  rabbitmqMgmtUrl: "http://guest:guest@127.0.0.1:15672",
  redisUrl: "redis://127.0.0.1:6379",
};

export const ENV = {
  databaseUrl: "PRAGMA_TEST_DATABASE_URL",
  amqpUrl: "PRAGMA_TEST_AMQP_URL",
  rabbitmqMgmtUrl: "PRAGMA_TEST_RABBITMQ_MGMT_URL",
  redisUrl: "PRAGMA_TEST_REDIS_URL",
} as const satisfies Record<keyof TestInfraUrls, string>;

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

/**
 * The management API of the broker an AMQP URL points at, assuming the plugin's default
 * port: a developer who sets only AMQP_URL to another host should not get checks
 * against the local broker's API.
 */
export function managementUrlFor(amqpUrl: string): string {
  const u = new URL(amqpUrl);
  const creds = u.username ? `${u.username}${u.password ? `:${u.password}` : ""}@` : "guest:guest@";
  return `${u.protocol === "amqps:" ? "https" : "http"}://${creds}${u.hostname}:15672`;
}

/**
 * The URLs tests use, from the environment: PRAGMA_TEST_* first (global setup always
 * sets them, to containers or to the services it checked), then the services' own
 * DATABASE_URL / AMQP_URL / REDIS_URL, then the local defaults.
 */
export function testInfraUrls(env: NodeJS.ProcessEnv = process.env): TestInfraUrls {
  const amqpUrl = nonEmpty(env[ENV.amqpUrl]) ?? nonEmpty(env.AMQP_URL) ?? LOCAL_DEFAULTS.amqpUrl;
  return {
    databaseUrl: nonEmpty(env[ENV.databaseUrl]) ?? nonEmpty(env.DATABASE_URL) ?? LOCAL_DEFAULTS.databaseUrl,
    amqpUrl,
    rabbitmqMgmtUrl:
      nonEmpty(env[ENV.rabbitmqMgmtUrl]) ?? (amqpUrl === LOCAL_DEFAULTS.amqpUrl ? LOCAL_DEFAULTS.rabbitmqMgmtUrl : managementUrlFor(amqpUrl)),
    redisUrl: nonEmpty(env[ENV.redisUrl]) ?? nonEmpty(env.REDIS_URL) ?? LOCAL_DEFAULTS.redisUrl,
  };
}

export function exportInfraUrls(urls: TestInfraUrls, env: NodeJS.ProcessEnv = process.env): void {
  for (const key of Object.keys(ENV) as (keyof TestInfraUrls)[]) env[ENV[key]] = urls[key];
}

/** A URL with its password replaced, for error messages. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "<unparseable URL>";
  }
}

const CHECK_TIMEOUT_MS = 5_000;

const HOW_TO_START = {
  postgres: "start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`",
  rabbitmq: "start it with `rabbitmq-server -detached`",
  management:
    "the tests enable it themselves only on a broker on this machine; elsewhere enable the plugin there with `rabbitmq-plugins enable rabbitmq_management` (works on the running node)",
  redis:
    'start it with `redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log`',
} as const;

function withTimeout<T>(what: string, promise: Promise<T>, ms = CHECK_TIMEOUT_MS): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function messageOf(err: unknown): string {
  if (err instanceof AggregateError) return err.errors.map(messageOf).join("; ") || err.message;
  if (err instanceof Error) return err.message || err.name;
  return String(err);
}

async function checkPostgres(url: string): Promise<void> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: CHECK_TIMEOUT_MS });
  // A refused connection can also surface as an 'error' event; the rejected connect() is what we report.
  client.on("error", () => undefined);
  await client.connect();
  try {
    const res = await withTimeout(
      "PostgreSQL query",
      client.query<{ can: boolean }>("SELECT rolcreatedb OR rolsuper AS can FROM pg_roles WHERE rolname = current_user"),
    );
    if (!res.rows[0]?.can) throw new Error("the role cannot create databases, which every test file does (grant CREATEDB)");
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function checkAmqp(url: string): Promise<void> {
  const conn = await withTimeout("AMQP connect", amqpConnect(url, { timeout: CHECK_TIMEOUT_MS }));
  await conn.close().catch(() => undefined);
}

async function checkManagement(url: string): Promise<void> {
  const { base, authorization } = splitCredentials(url);
  const res = await fetch(`${base}/api/overview`, {
    headers: authorization ? { authorization } : {},
    signal: AbortSignal.timeout(CHECK_TIMEOUT_MS),
  });
  if (!res.ok) throw new Error(`GET /api/overview answered ${res.status} ${res.statusText}`);
}

async function checkRedis(url: string): Promise<void> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: CHECK_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
  });
  redis.on("error", () => undefined);
  try {
    await withTimeout("Redis connect", redis.connect());
    const pong = await withTimeout("Redis PING", redis.ping());
    if (pong !== "PONG") throw new Error(`PING answered ${pong}`);
  } finally {
    // On an already-closed client disconnect() arms a 2 s timer nothing clears, which keeps jest from exiting.
    if (redis.status !== "end") redis.disconnect();
  }
}

/**
 * Proves every service answers, and throws one error naming each that does not with
 * how to fix it. Integration tests never skip: a missing service is a broken run.
 */
export async function checkInfra(urls: TestInfraUrls): Promise<void> {
  const checks = [
    { name: "PostgreSQL", env: ENV.databaseUrl, url: urls.databaseUrl, hint: HOW_TO_START.postgres, run: () => checkPostgres(urls.databaseUrl) },
    { name: "RabbitMQ (AMQP)", env: ENV.amqpUrl, url: urls.amqpUrl, hint: HOW_TO_START.rabbitmq, run: () => checkAmqp(urls.amqpUrl) },
    {
      name: "RabbitMQ management API",
      env: ENV.rabbitmqMgmtUrl,
      url: urls.rabbitmqMgmtUrl,
      hint: HOW_TO_START.management,
      run: () => checkManagement(urls.rabbitmqMgmtUrl),
    },
    { name: "Redis", env: ENV.redisUrl, url: urls.redisUrl, hint: HOW_TO_START.redis, run: () => checkRedis(urls.redisUrl) },
  ];
  const results = await Promise.allSettled(checks.map((c) => c.run()));
  const failures = checks.flatMap((c, i) => {
    const r = results[i];
    return r?.status === "rejected"
      ? [`  - ${c.name} at ${redact(c.url)}: ${messageOf(r.reason)}\n      ${c.hint}, or point ${c.env} at a running one`]
      : [];
  });
  if (failures.length > 0) {
    throw new Error(
      `Integration test infrastructure is unreachable:\n${failures.join("\n")}\n` +
        "No Docker engine was used; with one running, the tests start their own containers instead.",
    );
  }
}
