import { REDACTED } from "@pragma/logger";

// One rule for secrets in text, shared with the store and the logger's users.
export { REDACTED, isSensitiveKey, redactText } from "@pragma/logger";

/** A copy of `values` with the given top-level keys replaced. */
export function redactKeys<T extends Record<string, unknown>>(values: T, keys: Iterable<string>): T {
  const out: Record<string, unknown> = { ...values };
  for (const k of keys) if (k in out && out[k] !== undefined && out[k] !== null) out[k] = REDACTED;
  return out as T;
}
