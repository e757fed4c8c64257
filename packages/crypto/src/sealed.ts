import { REDACTED, isSensitiveKey } from "@pragma/logger";
import type { Cipher } from "./cipher";

/**
 * A sensitive resource value, encrypted, where the value itself stood: a string
 * `pragma:sealed:v1:<kid>:<iv>:<tag>:<ct>` in place of any JSON value (the plaintext is
 * `{"v": value, "p": parts}`). Being a marker inside ordinary JSON is what makes
 * sensitivity travel: a reference to a sealed output copies the sealed string, an
 * interpolation with one seals its whole result, and every reader can tell a sensitive
 * value from a plain one without knowing the type. `parts` are the sensitive values an
 * interpolated string was built from, so an error quoting only the password is scrubbed too.
 * The store keeps values sealed at rest and in the work message; the worker opens them
 * in memory only, and seals sensitive outputs before publishing them.
 */
export const SEALED_PREFIX = "pragma:sealed:";

export function isSealed(v: unknown): v is string {
  return typeof v === "string" && v.startsWith(SEALED_PREFIX);
}

export interface Opened {
  value: unknown;
  parts: string[];
}

export class ValueSealer {
  constructor(private readonly cipher: Cipher) {}

  isSealed(v: unknown): v is string {
    return isSealed(v);
  }

  seal(value: unknown, parts: readonly string[] = []): string {
    if (isSealed(value) && parts.length === 0) return value;
    return SEALED_PREFIX + this.cipher.encrypt(JSON.stringify(parts.length > 0 ? { v: value, p: parts } : { v: value }));
  }

  open(sealed: string): Opened {
    const plain = JSON.parse(this.cipher.decrypt(sealed.slice(SEALED_PREFIX.length))) as { v: unknown; p?: string[] };
    return { value: plain.v, parts: plain.p ?? [] };
  }

  /**
   * Every sealed value opened (at any depth, sealed inside sealed too), and the
   * sensitive values met on the way: each opened value's strings and parts, what errors
   * and log lines must be scrubbed of.
   */
  openDeep<T>(value: T): { value: T; secrets: string[] } {
    // Most values hold nothing sealed: answer without copying (this runs on every result).
    if (!containsSealed(value)) return { value, secrets: [] };
    const secrets: string[] = [];
    const walk = (v: unknown, sensitive: boolean): unknown => {
      if (isSealed(v)) {
        const o = this.open(v);
        secrets.push(...o.parts);
        return walk(o.value, true);
      }
      if (typeof v === "string") {
        if (sensitive) secrets.push(v);
        return v;
      }
      if (Array.isArray(v)) return v.map((x) => walk(x, sensitive));
      if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, sensitive)]));
      if (sensitive && v !== null && v !== undefined) secrets.push(String(v));
      return v;
    };
    return { value: walk(value, false) as T, secrets };
  }

  /**
   * Seals what is sensitive and not yet sealed: the value under a key named like a secret
   * (at any depth), under one of `declared` (top-level keys the type marks x-sensitive or
   * writeOnly), or, for strings, one that contains a value in `secrets` (an output that
   * echoes a sensitive input). Values sealed already stay as they are.
   */
  sealSensitive<T>(value: T, declared: readonly string[] = [], secrets: readonly string[] = []): T {
    const known = secrets.filter((s) => s.length >= 4);
    // Copy-on-write: what holds nothing to seal is returned as it is, without allocating.
    const walk = (v: unknown, top: boolean): unknown => {
      if (isSealed(v)) return v;
      if (typeof v === "string") return known.length > 0 && known.some((s) => v.includes(s)) ? this.seal(v, known.filter((s) => s !== v && v.includes(s))) : v;
      if (Array.isArray(v)) {
        let out: unknown[] | undefined;
        v.forEach((x, i) => {
          const next = walk(x, false);
          if (next !== x) (out ??= [...v])[i] = next;
        });
        return out ?? v;
      }
      if (v && typeof v === "object") {
        let out: Record<string, unknown> | undefined;
        for (const k in v) {
          const x = (v as Record<string, unknown>)[k];
          const next = x !== null && x !== undefined && (isSensitiveKey(k) || (top && declared.includes(k))) ? this.seal(x) : walk(x, false);
          if (next !== x) (out ??= { ...(v as Record<string, unknown>) })[k] = next;
        }
        return out ?? v;
      }
      return v;
    };
    return walk(value, true) as T;
  }
}

/** Every sealed value replaced by "[REDACTED]", at any depth (no key needed: nothing is opened). */
export function redactSealed<T>(value: T): T {
  const walk = (v: unknown): unknown => {
    if (isSealed(v)) return REDACTED;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  return walk(value) as T;
}

/** Whether anything in `value` is a sealed string (a config a user sent must not be: the prefix is reserved). */
export function containsSealed(value: unknown): boolean {
  if (typeof value === "string") return value.startsWith(SEALED_PREFIX);
  if (Array.isArray(value)) return value.some(containsSealed);
  if (value && typeof value === "object") {
    for (const k in value) if (containsSealed((value as Record<string, unknown>)[k])) return true;
  }
  return false;
}
