import { common, loadConfig, metricsPort, z } from "@pragma/config";
import { encryptionEnv, readEncryptionKeys } from "@pragma/crypto";

export const configSchema = z
  .object({
    NODE_ENV: common.NODE_ENV,
    LOG_LEVEL: common.LOG_LEVEL,
    DATABASE_URL: common.DATABASE_URL,
    // Interpolated into DDL by the migration runner and used as the adapter's schema.
    DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lowercase SQL identifier").default("registry"),
    AMQP_URL: common.AMQP_URL,
    ...encryptionEnv,
    // The outbox relay's poll (it is also woken by every local commit that wrote events).
    OUTBOX_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(1000),
    OUTBOX_BATCH: z.coerce.number().int().min(1).max(1000).default(100),
    /** GET /metrics listener (unset: none; npm start sets 9465). */
    METRICS_PORT: metricsPort(),
  })
  .transform((env, ctx) => {
    // Development without keys: an ephemeral key (stored passwords are unreadable after a restart).
    const enc = readEncryptionKeys(env, ctx, "ephemeral");
    if (enc === z.NEVER) return z.NEVER;
    const { keys, activeKeyId } = enc;
    const ephemeralKey = enc.fallback !== null;
    return {
      nodeEnv: env.NODE_ENV,
      logLevel: env.LOG_LEVEL,
      databaseUrl: env.DATABASE_URL,
      databaseSchema: env.DATABASE_SCHEMA,
      amqpUrl: env.AMQP_URL,
      metricsPort: env.METRICS_PORT,
      encryption: { keys, activeKeyId, ephemeralKey },
      outbox: { pollMs: env.OUTBOX_POLL_MS, batchSize: env.OUTBOX_BATCH },
    };
  });

export type RegistryConfig = z.output<typeof configSchema>;

export function readConfig(env: Record<string, string | undefined> = process.env, options: { onError?: "exit" | "throw" } = {}): RegistryConfig {
  return loadConfig(configSchema, env, options);
}
