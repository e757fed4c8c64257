/**
 * Redaction for everything the dead-letter store keeps or shows. Payloads come from
 * the work message unredacted (the worker must be able to run them), so the store is
 * where secrets are taken out: by the type's declared sensitive fields when a worker
 * told us, and by key-name heuristics always, since a pushed or unknown type may
 * declare nothing and config is free-form.
 */
import { redactSealed } from "@pragma/crypto";
import { REDACTED, isSensitiveKey, redactText } from "@pragma/logger";

export { REDACTED, isSensitiveKey, redactText };

export interface SensitiveFields {
  /** Top-level config keys the type marks sensitive. */
  config: readonly string[];
  /** Top-level output keys the type marks sensitive. */
  outputs: readonly string[];
}

export const NO_SENSITIVE_FIELDS: SensitiveFields = { config: [], outputs: [] };

/**
 * Redacts a value at any depth: sensitive keys lose their value whatever its shape,
 * and every remaining string is scrubbed of URL passwords and the given secrets.
 * `declared` names extra top-level keys to redact (the type's sensitive fields).
 */
export function redactValue(value: unknown, secrets: readonly string[] = [], declared: readonly string[] = []): unknown {
  const walk = (v: unknown, top: boolean): unknown => {
    if (typeof v === "string") return redactText(v, secrets);
    if (Array.isArray(v)) return v.map((x) => walk(x, false));
    if (v && typeof v === "object") {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        out[k] = x !== null && x !== undefined && (isSensitiveKey(k) || (top && declared.includes(k))) ? REDACTED : walk(x, false);
      }
      return out;
    }
    return v;
  };
  return walk(value, true);
}

/** String values under sensitive keys, so the same values can be scrubbed from error text. */
export function collectSecrets(value: unknown, declared: readonly string[] = []): string[] {
  const out: string[] = [];
  const take = (v: unknown) => {
    if (typeof v === "string") out.push(v);
    else if (Array.isArray(v)) v.forEach(take);
    else if (v && typeof v === "object") Object.values(v as Record<string, unknown>).forEach(take);
  };
  const walk = (v: unknown, top: boolean) => {
    if (Array.isArray(v)) v.forEach((x) => walk(x, false));
    else if (v && typeof v === "object") {
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        if (isSensitiveKey(k) || (top && declared.includes(k))) take(x);
        else walk(x, false);
      }
    }
  };
  walk(value, true);
  return out;
}

/**
 * Redacts a work payload (ResourceWork shape): config and previous_config by the
 * type's sensitive config keys, outputs by its sensitive output keys, every part by
 * the heuristics. Returns the secrets it found too, for scrubbing error text.
 */
export function redactWorkPayload(sealedPayload: Record<string, unknown>, fields: SensitiveFields): { payload: Record<string, unknown>; secrets: string[] } {
  // Sealed values (sensitive, encrypted: the store's and the worker's) are redacted
  // whatever their key; the caller opens them itself when it needs their values for scrubbing.
  const payload = redactSealed(sealedPayload);
  const parts: [string, readonly string[]][] = [
    ["config", fields.config],
    ["previous_config", fields.config],
    ["outputs", fields.outputs],
  ];
  const secrets = parts.flatMap(([k, declared]) => collectSecrets(payload[k], declared));
  const out = redactValue(payload, secrets) as Record<string, unknown>;
  for (const [k, declared] of parts) {
    if (payload[k] !== undefined) out[k] = redactValue(payload[k], secrets, declared);
  }
  return { payload: out, secrets };
}
