export const REDACTED = "[REDACTED]";

/** Replaces every occurrence of each secret (and the password in any URL) in `text`. */
export function redactText(text: string, secrets: Iterable<string>): string {
  let out = text;
  // Longest first, so a secret that contains another is not half-replaced.
  const list = [...new Set([...secrets].filter((s) => typeof s === "string" && s.length >= 4))].sort((a, b) => b.length - a.length);
  for (const s of list) out = out.split(s).join(REDACTED);
  // Connection strings embed passwords even when we never saw the value itself.
  return out.replace(/(\b[a-z][a-z0-9+.-]*:\/\/[^:/?#\s@]+:)[^@\s/]+@/gi, `$1${REDACTED}@`);
}

/** A copy of `values` with the given top-level keys replaced. */
export function redactKeys<T extends Record<string, unknown>>(values: T, keys: Iterable<string>): T {
  const out: Record<string, unknown> = { ...values };
  for (const k of keys) if (k in out && out[k] !== undefined && out[k] !== null) out[k] = REDACTED;
  return out as T;
}
