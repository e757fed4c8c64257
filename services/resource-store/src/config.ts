import { camelKeys, common, int, loadConfig, metricsPort, z } from "@pragma/config";
import { encryptionEnv, readEncryptionKeys } from "@pragma/crypto";
import { RETRY_ALL_CHUNK } from "./domain/dead-letters/manage-dead-letters";

/** OBSERVE_* defaults; scripts/export-topology.mjs declares the delay queues of these. */
export const DEFAULT_OBSERVE_INTERVAL_MS = 60_000;
export const DEFAULT_OBSERVE_TIERS_MS: readonly number[] = [60_000, 300_000, 3_600_000];

const envSchema = z.object({
  NODE_ENV: common.NODE_ENV,
  LOG_LEVEL: common.LOG_LEVEL,
  DATABASE_URL: common.DATABASE_URL,
  DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]*$/).default("resource_store"),
  /** Connections to PostgreSQL (shared by every transaction this replica runs). */
  DATABASE_POOL_MAX: int(10, 1, 500),
  AMQP_URL: common.AMQP_URL,
  /** How often the outbox relay looks for unpublished events when nothing wakes it. */
  OUTBOX_POLL_MS: int(500, 10, 60_000),
  /** Events the relay publishes per batch (one transaction, confirms awaited together). */
  OUTBOX_BATCH: int(200, 1, 5000),
  /** Published outbox events older than this are deleted (the table would otherwise grow with every event). */
  OUTBOX_RETENTION_HOURS: int(168, 1, 24 * 365 * 10),
  /** How often a replica prunes them (any number of replicas may; each deletion is idempotent). */
  OUTBOX_PRUNE_INTERVAL_MS: int(600_000, 1_000, 86_400_000),
  /**
   * How long a write request's first answer is kept: a repeat of the request (same request
   * id, or same Idempotency-Key) within it gets that answer instead of running again.
   */
  REQUEST_ANSWER_RETENTION_HOURS: int(24, 1, 24 * 30),
  /** How long the change log behind GET /resources/watch keeps changes: a watcher away longer re-lists (event: reset). */
  WATCH_RETENTION_SECONDS: int(3_600, 1, 7 * 86_400),
  /** How often a replica prunes the change log. */
  WATCH_PRUNE_INTERVAL_MS: int(60_000, 1_000, 3_600_000),
  RESULTS_PREFETCH: int(100, 1, 10_000),
  /** How long an idle results lane waits for more before it records what it has (0: this tick only). */
  RESULTS_LINGER_MS: int(5, 0, 1_000),
  /** Dead-letter entries per retry-all transaction (each holds its entries' and resources' row locks until it commits). */
  DEAD_LETTER_RETRY_CHUNK: int(RETRY_ALL_CHUNK, 1, 10_000),
  /** How long the type catalogue from the provider workers is reused before asking again. */
  TYPES_CACHE_MS: int(30_000, 0, 3_600_000),
  /** How long an org's deployed provider types are reused for apply validation (a deploy on this replica drops them at once). */
  DEPLOYED_TYPES_CACHE_MS: int(2_000, 0, 600_000),
  /** How often a replica deletes providers whose cascade delete has removed their last resource. */
  PROVIDER_FINALIZE_MS: int(1_000, 100, 600_000),
  /** How long to wait for a provider worker to list its types. */
  WORKER_RPC_TIMEOUT_MS: int(5_000, 100, 120_000),
  /** Drift (api.md §9): "false" stops scheduling observations (results still arriving are recorded). */
  OBSERVE_ENABLED: z.enum(["true", "false"]).default("true").transform((v) => v === "true"),
  /** How long after a resource becomes ready its first observation comes (then each type's own interval; the workers use the same default). */
  OBSERVE_INTERVAL_MS: int(DEFAULT_OBSERVE_INTERVAL_MS, 100, 86_400_000),
  /** The delay queues (pragma.observe.delay.<ms>ms) an interval is rounded down to; OBSERVE_INTERVAL_MS is always one. */
  OBSERVE_TIERS_MS: z
    .string()
    .default(DEFAULT_OBSERVE_TIERS_MS.join(","))
    .transform((v, ctx) => {
      const tiers = v.split(",").map((s) => Number(s.trim()));
      if (tiers.some((t) => !Number.isInteger(t) || t < 100)) {
        ctx.addIssue({ code: "custom", message: "OBSERVE_TIERS_MS: comma-separated whole milliseconds, each at least 100" });
        return z.NEVER;
      }
      return tiers;
    }),
  /**
   * How often each replica looks for overdue or never-started observation cycles
   * (observe-sweeper.ts; jittered ±20 %; a second after a sweep that filled its batch). Each
   * sweep reads every ready resource: ~120 ms for 20,000 on the bench host.
   */
  OBSERVE_SWEEP_INTERVAL_MS: int(60_000, 100, 3_600_000),
  /** At most this many cycles restarted per sweep and replica (a backlog is spread over several sweeps). */
  OBSERVE_SWEEP_BATCH: int(500, 1, 100_000),
  /** A cycle is overdue this long plus three of its intervals after its last result (drift.ts overdueAfterMs). */
  OBSERVE_OVERDUE_GRACE_MS: int(60_000, 0, 86_400_000),
  /** Keys sealing sensitive resource values at rest and in work messages (the workers need the same). */
  ...encryptionEnv,
  /** GET /metrics listener (unset: none; npm start sets 9466). */
  METRICS_PORT: metricsPort(),
});

export const configSchema = envSchema.transform((env, ctx) => {
  // Development without keys: the published development key, since the workers must open
  // what the store seals (an ephemeral key of our own would be unreadable to them).
  const encryption = readEncryptionKeys(env, ctx, "development");
  if (encryption === z.NEVER) return z.NEVER;
  return { ...camelKeys(env), encryption };
});

export type StoreConfig = z.output<typeof configSchema>;

export function readConfig(env: Record<string, string | undefined> = process.env, options: { onError?: "exit" | "throw" } = {}): StoreConfig {
  return loadConfig(configSchema, env, options);
}
