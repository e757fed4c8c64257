import { createHash, randomBytes } from "node:crypto";
import { z } from "@pragma/config";
import { parseKeyList } from "./cipher";

/** The env variables every service that encrypts reads (the same values everywhere). */
export const encryptionEnv = {
  PRAGMA_ENCRYPTION_KEYS: z.string().optional(),
  PRAGMA_ENCRYPTION_ACTIVE_KEY: z.string().optional(),
};

export interface EncryptionKeys {
  keys: ReadonlyMap<string, Buffer>;
  activeKeyId: string;
  /** No keys were configured and a development fallback is in use (warn at start). */
  fallback: "ephemeral" | "development" | null;
}

/**
 * A publicly known key, used outside production only when no keys are configured, by
 * services that must agree on a key without being given one (the store seals what the
 * worker opens). Production refuses to start without PRAGMA_ENCRYPTION_KEYS; `npm start`
 * generates real dev keys (scripts/lib/dev-secrets.mjs), so only ad-hoc test setups
 * ever use this.
 */
export const DEVELOPMENT_KEY_ID = "insecure-dev";
const DEVELOPMENT_KEY = createHash("sha256").update("pragma insecure development key: never use in production").digest();

/**
 * PRAGMA_ENCRYPTION_KEYS (`kid:base64(32 bytes),kid2:…`) and PRAGMA_ENCRYPTION_ACTIVE_KEY
 * (default: the last listed, the newest) inside a service's config transform. Rotation:
 * add a key, make it active, keep the old one listed until everything sealed with it was
 * re-encrypted. Without keys: an issue in production; otherwise `whenMissing` decides.
 */
export function readEncryptionKeys(
  env: { NODE_ENV: string; PRAGMA_ENCRYPTION_KEYS?: string | undefined; PRAGMA_ENCRYPTION_ACTIVE_KEY?: string | undefined },
  ctx: z.RefinementCtx,
  whenMissing: "ephemeral" | "development",
): EncryptionKeys | typeof z.NEVER {
  let keys: Map<string, Buffer>;
  let fallback: EncryptionKeys["fallback"] = null;
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
    fallback = whenMissing;
    keys = whenMissing === "ephemeral" ? new Map([["dev-ephemeral", randomBytes(32)]]) : new Map([[DEVELOPMENT_KEY_ID, DEVELOPMENT_KEY]]);
  }
  const activeKeyId = (fallback ? undefined : env.PRAGMA_ENCRYPTION_ACTIVE_KEY?.trim()) || [...keys.keys()].at(-1)!;
  if (!keys.has(activeKeyId)) {
    ctx.addIssue({ code: "custom", path: ["PRAGMA_ENCRYPTION_ACTIVE_KEY"], message: `"${activeKeyId}" is not one of the keys in PRAGMA_ENCRYPTION_KEYS` });
    return z.NEVER;
  }
  return { keys, activeKeyId, fallback };
}
