import { common, loadConfig, z } from "@pragma/config";
import { encryptionEnv, readEncryptionKeys } from "@pragma/crypto";

const envSchema = z
  .object({
    NODE_ENV: common.NODE_ENV,
    LOG_LEVEL: common.LOG_LEVEL,
    DATABASE_URL: common.DATABASE_URL,
    // Interpolated into DDL by the migration runner and used as the adapter's schema.
    DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lowercase SQL identifier").default("registry"),
    AMQP_URL: common.AMQP_URL,
    ...encryptionEnv,
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
      encryption: { keys, activeKeyId, ephemeralKey },
    };
  });

export type RegistryConfig = z.output<typeof envSchema>;

export function readConfig(env: Record<string, string | undefined> = process.env, options: { onError?: "exit" | "throw" } = {}): RegistryConfig {
  return loadConfig(envSchema, env, options);
}
