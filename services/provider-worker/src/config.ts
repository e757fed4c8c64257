import { camelKeys, common, int, list, loadConfig, metricsPort, z } from "@pragma/config";
import { encryptionEnv, readEncryptionKeys } from "@pragma/crypto";

export const BUILT_IN_PROVIDERS = ["pragma", "postgres", "mysql"] as const;
/** RETRY_TIERS_MS when unset; each tier is a queue (pragma.retry.<ms>ms), so infra/rabbitmq/definitions.json lists these. */
export const DEFAULT_RETRY_TIERS_MS: readonly number[] = [1000, 10000, 60000];

const tiers = z
  .string()
  .optional()
  .transform((v, ctx) => {
    const parts = (v ?? DEFAULT_RETRY_TIERS_MS.join(",")).split(",").map((s) => s.trim()).filter(Boolean);
    const nums = parts.map(Number);
    if (nums.length === 0 || nums.some((n) => !Number.isInteger(n) || n <= 0)) {
      ctx.addIssue({ code: "custom", message: "must be a comma-separated list of positive integers (milliseconds)" });
      return z.NEVER;
    }
    return nums;
  });

export const configSchema = z
  .object({
    NODE_ENV: common.NODE_ENV,
    LOG_LEVEL: common.LOG_LEVEL,
    AMQP_URL: common.AMQP_URL,
    REDIS_URL: common.REDIS_URL,
    /** Namespaces every Redis key (dedupe records, locks, resource logs). */
    REDIS_PREFIX: z.string().default("pragma:worker:"),
    /** Providers this replica serves; a replica only declares and consumes their queues. */
    PROVIDERS: list([...BUILT_IN_PROVIDERS]),
    /**
     * Events handled at once per provider queue (the consumer prefetch). 32: on the lifecycle
     * bench one worker made 950-964 resources/s at 8, 1,056-1,151 at 16, 1,215-1,267 at 32,
     * and no more at 64 or 128 (worker README, Config).
     */
    WORKER_CONCURRENCY: int(32, 1, 1000),
    /** Drift (api.md §9): the observe interval of a type that declares none, and how many observations run at once per provider. */
    OBSERVE_INTERVAL_MS: int(60_000, 100, 86_400_000),
    OBSERVE_CONCURRENCY: int(4, 1, 1000),
    /** Delay tiers for retries; retry n waits RETRY_TIERS_MS[min(n, last)]. */
    RETRY_TIERS_MS: tiers,
    /** Retries after the first attempt before the event is dead-lettered. */
    MAX_RETRIES: int(3, 0, 100),
    HOOK_TIMEOUT_MS: int(300_000, 100),
    /** A hook still running after this long reports "started" (the resource shows processing); 0 reports it always, first. */
    STARTED_REPORT_DELAY_MS: int(50, 0, 60_000),
    /** How long a completed event id is remembered (a redelivery republishes its result). */
    DEDUPE_TTL_SECS: int(7 * 24 * 3600, 1),
    /** Per-resource lease; renewed while a hook runs, so it only bounds how long a dead replica blocks a resource. */
    LOCK_TTL_MS: int(30_000, 1000),
    /** A replica that has not refreshed its liveness key for this long is dead, and its resource leases are taken over. */
    ALIVE_TTL_MS: int(5_000, 500),
    /** Lines kept per resource for GET /resources/{id}/logs. */
    RESOURCE_LOG_LINES: int(1000, 10, 100_000),
    REGISTRY_TIMEOUT_MS: int(10_000, 100),
    /** How long a project's database credentials from the registry are reused (dropped at once when the registry announces a change to the project); 0 asks the registry on every use. */
    CREDENTIALS_CACHE_MS: int(5_000, 0, 600_000),
    SHUTDOWN_TIMEOUT_MS: int(30_000, 100),
    /** Serve pushed providers (builds and events of work.pushed); a replica may leave them to others. */
    PUSHED_PROVIDERS: z.enum(["true", "false"]).default("true").transform((v) => v === "true"),
    /** Heap limit of each pushed provider's process (MiB). */
    PUSHED_MEMORY_MB: int(128, 16, 8192),
    /** A pushed provider's hook still running after this long is killed; the event fails as retryable. */
    PUSHED_HOOK_TIMEOUT_MS: int(30_000, 100, 3_600_000),
    /** How long the deployed version of an org's provider is reused before asking the store (a deploy takes effect within it). */
    PUSHED_RESOLVE_CACHE_MS: int(1_000, 0, 600_000),
    /** A pushed provider's process idle this long is stopped (started again on its next event). */
    PUSHED_IDLE_MS: int(300_000, 1_000),
    /** Where bundles and builds live on this machine; default: a directory under the OS temp dir. */
    PUSHED_DIR: z.string().optional(),
    /** Builds run at once by this replica. */
    BUILD_CONCURRENCY: int(1, 1, 16),
    /** GET /metrics listener (unset: none; npm start sets 9467, 9468, … per replica). */
    METRICS_PORT: metricsPort(),
    /**
     * Statement timeout on every connection to a project's database (Auto API queries and
     * provider hooks alike): below the gateway's RPC_TIMEOUT_MS, so a slow query is the
     * database's 504 and frees its connection, rather than the gateway giving up on it.
     */
    SQL_STATEMENT_TIMEOUT_MS: int(8_000, 0, 3_600_000),
    /** Auto API: how old the cached schema of a database may be before a request re-reads it. */
    AUTO_API_SCHEMA_REVALIDATE_MS: int(1_000, 0, 3_600_000),
    /** Auto API: rows one POST may insert (the body limit of 1 MiB bounds it too). */
    AUTO_API_MAX_INSERT_ROWS: int(1000, 1, 100_000),
    /** Requests on rpc.provider-worker (resource health/logs, the Auto API) handled at once. */
    RPC_PREFETCH: int(64, 1, 1000),
    /** The store's keys: sealed values in work messages are opened with them, sensitive outputs sealed. */
    ...encryptionEnv,
  })
  .transform((env, ctx) => {
    // Development without keys: the published development key, the store's fallback too.
    const encryption = readEncryptionKeys(env, ctx, "development");
    if (encryption === z.NEVER) return z.NEVER;
    return { ...camelKeys(env), encryption };
  });

export type WorkerConfig = z.output<typeof configSchema>;

export function readConfig(env: Record<string, string | undefined> = process.env, options?: { onError?: "exit" | "throw" }): WorkerConfig {
  return loadConfig(configSchema, env, options);
}
