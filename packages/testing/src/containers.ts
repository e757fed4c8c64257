import type { StartedTestContainer } from "testcontainers";
import type { TestInfraUrls } from "./infra";

export const IMAGES = {
  postgres: "postgres:15-alpine",
  rabbitmq: "rabbitmq:3.13-management-alpine",
  redis: "redis:7-alpine",
} as const;

const DETECT_TIMEOUT_MS = 10_000;
const STARTUP_TIMEOUT_MS = 120_000;

/**
 * Whether a Docker-compatible engine answers, asked the way testcontainers itself
 * finds one (DOCKER_HOST, sockets, docker contexts, ~/.testcontainers.properties).
 * Bounded, because a remote DOCKER_HOST that does not answer would otherwise stall
 * every run before the first test.
 */
export async function containerRuntimeAvailable(): Promise<{ available: boolean; reason: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const { getContainerRuntimeClient } = await import("testcontainers");
    const client = await Promise.race([
      getContainerRuntimeClient(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${DETECT_TIMEOUT_MS} ms`)), DETECT_TIMEOUT_MS);
      }),
    ]);
    return { available: true, reason: `${client.info.containerRuntime.host} (engine ${client.info.containerRuntime.serverVersion})` };
  } catch (err) {
    return { available: false, reason: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

export interface StartedInfra {
  urls: TestInfraUrls;
  containers: StartedTestContainer[];
}

/** Starts throwaway PostgreSQL 15, RabbitMQ 3 (with management) and Redis 7 containers in parallel. */
export async function startContainers(): Promise<StartedInfra> {
  const { GenericContainer, Wait } = await import("testcontainers");

  const postgres = new GenericContainer(IMAGES.postgres)
    .withEnvironment({ POSTGRES_PASSWORD: "postgres", POSTGRES_USER: "postgres", POSTGRES_DB: "postgres" })
    // fsync off: throwaway data, and every test file creates and drops a database.
    .withCommand(["postgres", "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"])
    .withExposedPorts(5432)
    // The image's entrypoint starts the server once for init, stops it, then starts it for real.
    .withWaitStrategy(Wait.forLogMessage(/database system is ready to accept connections/, 2))
    .withStartupTimeout(STARTUP_TIMEOUT_MS);

  const rabbitmq = new GenericContainer(IMAGES.rabbitmq)
    .withExposedPorts(5672, 15672)
    .withWaitStrategy(Wait.forLogMessage(/Server startup complete/))
    .withStartupTimeout(STARTUP_TIMEOUT_MS);

  const redis = new GenericContainer(IMAGES.redis)
    .withCommand(["redis-server", "--save", "", "--appendonly", "no"])
    .withExposedPorts(6379)
    .withWaitStrategy(Wait.forLogMessage(/Ready to accept connections/))
    .withStartupTimeout(STARTUP_TIMEOUT_MS);

  const results = await Promise.allSettled([postgres.start(), rabbitmq.start(), redis.start()]);
  const started = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (failed.length > 0) {
    await Promise.allSettled(started.map((c) => c.stop()));
    throw new AggregateError(failed, `could not start test containers: ${failed.map((e) => (e instanceof Error ? e.message : String(e))).join("; ")}`);
  }
  const [pg, rmq, rds] = started as [StartedTestContainer, StartedTestContainer, StartedTestContainer];

  return {
    containers: started,
    urls: {
      databaseUrl: `postgresql://postgres:postgres@${pg.getHost()}:${pg.getMappedPort(5432)}/postgres`,
      amqpUrl: `amqp://guest:guest@${rmq.getHost()}:${rmq.getMappedPort(5672)}`,
      rabbitmqMgmtUrl: `http://guest:guest@${rmq.getHost()}:${rmq.getMappedPort(15672)}`,
      redisUrl: `redis://${rds.getHost()}:${rds.getMappedPort(6379)}`,
    },
  };
}
