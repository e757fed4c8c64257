import { generateKeyPairSync, randomBytes, createPublicKey, createPrivateKey, type KeyObject } from "node:crypto";
import { resolve } from "node:path";
import { common, int, loadConfig, metricsPort, z } from "@pragma/config";

/** The console build next to this service: services/gateway/{src,dist}/ → packages/console/dist. */
export const DEFAULT_CONSOLE_DIR = resolve(__dirname, "../../../packages/console/dist");

/** Hard ceiling from the spec: a stolen token is useful for at most 15 minutes. */
export const MAX_TOKEN_TTL_SECONDS = 900;

const JwtKeyInput = z.object({
  kid: z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, "kid must be 1..64 of [A-Za-z0-9._-]"),
  /** Absent on a key that only verifies (an old key kept until its last tokens expire). */
  private_key: z.string().optional(),
  public_key: z.string(),
});

export interface JwtKey {
  kid: string;
  privateKey: KeyObject | null;
  publicKey: KeyObject;
}

const positiveNumber = (def: number) => z.coerce.number().positive().finite().default(def);

export const configSchema = z
  .object({
    NODE_ENV: common.NODE_ENV,
    LOG_LEVEL: common.LOG_LEVEL,
    AMQP_URL: common.AMQP_URL,
    REDIS_URL: common.REDIS_URL,
    REDIS_KEY_PREFIX: z.string().default(""),
    GATEWAY_PORT: int(8080, 0, 65535),
    PRAGMA_SERVER_KEY: z.string().optional(),
    JWT_KEYS: z.string().optional(),
    JWT_ACTIVE_KID: z.string().optional(),
    JWT_ISSUER: z.string().min(1).default("pragma-gateway"),
    JWT_AUDIENCE: z.string().min(1).default("pragma-api"),
    JWT_CLOCK_SKEW_SECONDS: int(30, 0, 300),
    TOKEN_TTL_SECONDS: int(900, 1, MAX_TOKEN_TTL_SECONDS),
    // Fractional rates are allowed so a bucket can be made effectively non-refilling (tests, abuse lockdown).
    RATE_LIMIT_RPS: positiveNumber(20),
    RATE_LIMIT_BURST: int(40, 1),
    RATE_LIMIT_CACHE_SECONDS: int(30, 0),
    SCOPE_CACHE_SECONDS: int(30, 0),
    RPC_TIMEOUT_MS: int(10_000, 100),
    /** Bulk dead-letter operations (retry-all, delete by provider/all) touch every entry. */
    BULK_RPC_TIMEOUT_MS: int(300_000, 100),
    BODY_LIMIT_BYTES: int(1024 * 1024, 1024),
    /** GET /resources/{id} answers are cached this long at most (change notifications drop them sooner); 0 turns the cache off. */
    RESOURCE_CACHE_MS: int(5_000, 0, 600_000),
    RESOURCE_CACHE_ENTRIES: int(10_000, 1),
    /** GET /resources/watch: open streams per org in one gateway process (beyond: 429). */
    WATCH_MAX_STREAMS_PER_ORG: int(1_000, 1),
    /** A heartbeat comment on every idle stream this often, so proxies keep it open. */
    WATCH_HEARTBEAT_MS: int(15_000, 100, 300_000),
    /** Re-read each watched scope this often even without a change notification (they are best-effort). */
    WATCH_POLL_MS: int(2_000, 50, 60_000),
    /** A stream whose client reads slower than this many bytes behind is closed (it resumes with Last-Event-ID). */
    WATCH_MAX_BUFFER_BYTES: int(1024 * 1024, 1024),
    /** Pushed provider packages (api.md §6): compressed upload, unpacked size and entry count. */
    PROVIDER_PUSH_MAX_BYTES: int(20 * 1024 * 1024, 1024),
    PROVIDER_UNPACKED_MAX_BYTES: int(100 * 1024 * 1024, 1024),
    PROVIDER_MAX_ENTRIES: int(5000, 1),
    /** Gateway processes sharing the port (Node cluster), each with its own cache; see main.ts. */
    GATEWAY_PROCESSES: int(1, 1, 64),
    /** Re-read the list of revoked API keys this often (announcements keep it current in between). */
    REVOCATION_RESYNC_MS: int(30_000, 100, 3_600_000),
    /** GET /metrics listener (unset: none; npm start sets 9464). With GATEWAY_PROCESSES > 1 the primary serves the sum of all processes. */
    METRICS_PORT: metricsPort(),
    /** The built web console served under /console/ (packages/console/dist by default). */
    CONSOLE_DIR: z.string().min(1).default(DEFAULT_CONSOLE_DIR),
  })
  .transform((env, ctx) => {
    const isProd = env.NODE_ENV === "production";
    const generated: string[] = [];

    let serverKey = env.PRAGMA_SERVER_KEY?.trim() ?? "";
    let serverKeyGenerated = false;
    if (serverKey === "") {
      if (isProd) {
        ctx.addIssue({ code: "custom", path: ["PRAGMA_SERVER_KEY"], message: "required in production" });
        return z.NEVER;
      }
      serverKey = `psk_${randomBytes(32).toString("base64url")}`;
      serverKeyGenerated = true;
      generated.push("PRAGMA_SERVER_KEY");
    } else if (serverKey.length < 16) {
      ctx.addIssue({ code: "custom", path: ["PRAGMA_SERVER_KEY"], message: "must be at least 16 characters" });
      return z.NEVER;
    }

    let keys: JwtKey[];
    if (env.JWT_KEYS && env.JWT_KEYS.trim() !== "") {
      try {
        keys = parseJwtKeys(env.JWT_KEYS);
      } catch (err) {
        ctx.addIssue({ code: "custom", path: ["JWT_KEYS"], message: (err as Error).message });
        return z.NEVER;
      }
    } else if (isProd) {
      ctx.addIssue({ code: "custom", path: ["JWT_KEYS"], message: "required in production: JSON array of {kid, private_key, public_key} (PEM)" });
      return z.NEVER;
    } else {
      // Tokens signed with this key die with the process; fine for development only.
      keys = [generateJwtKey(`dev-${randomBytes(4).toString("hex")}`)];
      generated.push("JWT_KEYS");
    }

    // Default to the last listed signing key: operators append the new key when rotating.
    const activeKid = env.JWT_ACTIVE_KID?.trim() || [...keys].reverse().find((k) => k.privateKey)?.kid;
    const active = keys.find((k) => k.kid === activeKid);
    if (!active) {
      ctx.addIssue({ code: "custom", path: ["JWT_ACTIVE_KID"], message: `"${activeKid ?? ""}" is not a kid in JWT_KEYS` });
      return z.NEVER;
    }
    if (!active.privateKey) {
      ctx.addIssue({ code: "custom", path: ["JWT_ACTIVE_KID"], message: `key "${active.kid}" has no private_key, so it cannot sign` });
      return z.NEVER;
    }

    return {
      nodeEnv: env.NODE_ENV,
      logLevel: env.LOG_LEVEL,
      amqpUrl: env.AMQP_URL,
      redisUrl: env.REDIS_URL,
      redisKeyPrefix: env.REDIS_KEY_PREFIX,
      port: env.GATEWAY_PORT,
      serverKey,
      serverKeyGenerated,
      generated,
      jwt: {
        keys,
        activeKid: active.kid,
        issuer: env.JWT_ISSUER,
        audience: env.JWT_AUDIENCE,
        clockSkewSeconds: env.JWT_CLOCK_SKEW_SECONDS,
        ttlSeconds: env.TOKEN_TTL_SECONDS,
      },
      rateLimit: {
        requestsPerSecond: env.RATE_LIMIT_RPS,
        burst: env.RATE_LIMIT_BURST,
        orgSettingCacheMs: env.RATE_LIMIT_CACHE_SECONDS * 1000,
      },
      scopeCacheMs: env.SCOPE_CACHE_SECONDS * 1000,
      rpcTimeoutMs: env.RPC_TIMEOUT_MS,
      bulkRpcTimeoutMs: env.BULK_RPC_TIMEOUT_MS,
      bodyLimitBytes: env.BODY_LIMIT_BYTES,
      resourceCache: { ttlMs: env.RESOURCE_CACHE_MS, maxEntries: env.RESOURCE_CACHE_ENTRIES },
      processes: env.GATEWAY_PROCESSES,
      revocationResyncMs: env.REVOCATION_RESYNC_MS,
      consoleDir: resolve(env.CONSOLE_DIR),
      watch: {
        maxStreamsPerOrg: env.WATCH_MAX_STREAMS_PER_ORG,
        heartbeatMs: env.WATCH_HEARTBEAT_MS,
        pollMs: env.WATCH_POLL_MS,
        maxBufferBytes: env.WATCH_MAX_BUFFER_BYTES,
      },
      metricsPort: env.METRICS_PORT,
      providerPush: {
        maxPushBytes: env.PROVIDER_PUSH_MAX_BYTES,
        maxUnpackedBytes: env.PROVIDER_UNPACKED_MAX_BYTES,
        maxEntries: env.PROVIDER_MAX_ENTRIES,
        chunkBytes: 512 * 1024,
      },
    };
  });

export type GatewayConfig = z.output<typeof configSchema>;

export function readConfig(env: Record<string, string | undefined> = process.env, options: { onError?: "exit" | "throw" } = {}): GatewayConfig {
  return loadConfig(configSchema, env, options);
}

export function parseJwtKeys(raw: string): JwtKey[] {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    throw new Error("must be a JSON array of {kid, private_key, public_key}");
  }
  const parsed = z.array(JwtKeyInput).min(1, "must list at least one key").safeParse(json);
  if (!parsed.success) {
    throw new Error(parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  }
  const seen = new Set<string>();
  return parsed.data.map((k) => {
    if (seen.has(k.kid)) throw new Error(`duplicate kid "${k.kid}"`);
    seen.add(k.kid);
    let publicKey: KeyObject;
    let privateKey: KeyObject | null = null;
    try {
      publicKey = createPublicKey(k.public_key);
      if (k.private_key) privateKey = createPrivateKey(k.private_key);
    } catch (err) {
      throw new Error(`key "${k.kid}": not a valid PEM key (${(err as Error).message})`, { cause: err });
    }
    // RS256 only: an EC or HMAC key here would widen the accepted algorithm set.
    if (publicKey.asymmetricKeyType !== "rsa" || (privateKey && privateKey.asymmetricKeyType !== "rsa")) {
      throw new Error(`key "${k.kid}": must be an RSA key (tokens are RS256)`);
    }
    if ((publicKey.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
      throw new Error(`key "${k.kid}": RSA modulus must be at least 2048 bits`);
    }
    if (privateKey) {
      const derived = createPublicKey(privateKey).export({ type: "spki", format: "pem" });
      if (derived !== publicKey.export({ type: "spki", format: "pem" })) {
        throw new Error(`key "${k.kid}": private_key and public_key do not form a pair`);
      }
    }
    return { kid: k.kid, privateKey, publicKey };
  });
}

/** A fresh RS256 key pair; also what `JWT_KEYS` entries look like in PEM form. */
export function generateJwtKey(kid: string): JwtKey {
  const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { kid, privateKey, publicKey };
}

/** JWT_KEYS JSON for the given keys (used by tests and `pnpm gen:jwt-key`-style scripts). */
export function jwtKeysJson(keys: JwtKey[]): string {
  return JSON.stringify(
    keys.map((k) => ({
      kid: k.kid,
      ...(k.privateKey ? { private_key: k.privateKey.export({ type: "pkcs8", format: "pem" }) } : {}),
      public_key: k.publicKey.export({ type: "spki", format: "pem" }),
    })),
  );
}
