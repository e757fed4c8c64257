import { randomBytes } from "node:crypto";
import { common, loadConfig, metricsPort, z } from "@pragma/config";
import { parseKeyList } from "./crypto/password-cipher";

const envSchema = z
  .object({
    NODE_ENV: common.NODE_ENV,
    LOG_LEVEL: common.LOG_LEVEL,
    DATABASE_URL: common.DATABASE_URL,
    // Interpolated into DDL by the migration runner and used as the adapter's schema.
    DATABASE_SCHEMA: z.string().regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lowercase SQL identifier").default("registry"),
    AMQP_URL: common.AMQP_URL,
    PRAGMA_ENCRYPTION_KEYS: z.string().optional(),
    PRAGMA_ENCRYPTION_ACTIVE_KEY: z.string().optional(),
    /** GET /metrics listener (unset: none; npm start sets 9465). */
    METRICS_PORT: metricsPort(),
  })
  .transform((env, ctx) => {
    let keys: Map<string, Buffer>;
    let ephemeralKey = false;
    if (env.PRAGMA_ENCRYPTION_KEYS && env.PRAGMA_ENCRYPTION_KEYS.trim() !== "") {
      try {
        keys = parseKeyList(env.PRAGMA_ENCRYPTION_KEYS);
      } catch (err) {
        ctx.addIssue({ code: "custom", path: ["PRAGMA_ENCRYPTION_KEYS"], message: (err as Error).message });
        return z.NEVER;
      }
    } else if (env.NODE_ENV === "production") {
      ctx.addIssue({ code: "custom", path: ["PRAGMA_ENCRYPTION_KEYS"], message: "required in production (kid:base64 of 32 bytes, comma-separated)" });
      return z.NEVER;
    } else {
      // Development convenience: passwords stored under this key are unreadable after a restart.
      keys = new Map([["dev-ephemeral", randomBytes(32)]]);
      ephemeralKey = true;
    }
    // The newest key is appended last, so it is the default for new writes.
    const activeKeyId = env.PRAGMA_ENCRYPTION_ACTIVE_KEY?.trim() || [...keys.keys()].at(-1)!;
    if (!keys.has(activeKeyId)) {
      ctx.addIssue({ code: "custom", path: ["PRAGMA_ENCRYPTION_ACTIVE_KEY"], message: `"${activeKeyId}" is not one of the keys in PRAGMA_ENCRYPTION_KEYS` });
      return z.NEVER;
    }
    return {
      nodeEnv: env.NODE_ENV,
      logLevel: env.LOG_LEVEL,
      databaseUrl: env.DATABASE_URL,
      databaseSchema: env.DATABASE_SCHEMA,
      amqpUrl: env.AMQP_URL,
      metricsPort: env.METRICS_PORT,
      encryption: { keys: keys as ReadonlyMap<string, Buffer>, activeKeyId, ephemeralKey },
    };
  });

export type RegistryConfig = z.output<typeof envSchema>;

export function readConfig(env: Record<string, string | undefined> = process.env, options: { onError?: "exit" | "throw" } = {}): RegistryConfig {
  return loadConfig(envSchema, env, options);
}
