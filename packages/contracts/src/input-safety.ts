import { z } from "zod";

/**
 * Limits on what a client may send, checked at the gateway and again where data enters the
 * registry and the store (their request contracts use the same schemas and functions). Why:
 * PostgreSQL refuses a NUL character in text and jsonb and a lone UTF-16 surrogate cannot
 * be encoded as UTF-8, so both used to surface as 500s; deeply nested config overflowed
 * the recursive walks over it (references, sealing); unbounded strings were stored as sent.
 * Documented in docs/input-limits.md.
 */

/** Levels of nesting a resource's config may have: `{"a": 1}` is 1, `{"a": {"b": []}}` is 3. */
export const CONFIG_MAX_DEPTH = 64;
/** Levels of nesting any request body, query or path may have at the edge (config plus its envelope). */
export const INPUT_MAX_DEPTH = CONFIG_MAX_DEPTH + 8;

export const TEXT_LIMITS = {
  /** Organization, project and space names; admin name. */
  name: 200,
  /** A project's or space's description; an organization's address. */
  description: 2000,
  /** Short organization fields: state, country, postal code. */
  short: 100,
  /** RFC 5321's longest forward path. */
  email: 254,
  /** One resource tag, and how many a resource may carry. */
  tag: 128,
  tags: 64,
  /** Registered database fields: host, user name, database name, password. */
  dbField: 255,
  dbPassword: 1024,
} as const;

/** A lone surrogate: a high one not followed by a low one, or a low one without a high one before it. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why a string cannot be stored, or undefined when it can. */
export function unsafeTextReason(s: string): string | undefined {
  if (s.includes("\u0000")) return "must not contain the NUL character (\\u0000)";
  if (LONE_SURROGATE.test(s)) return "must be valid Unicode (a lone UTF-16 surrogate such as \\ud800 is not)";
  return undefined;
}

export interface InputIssue {
  path: (string | number)[];
  message: string;
  type: "string_unsafe" | "key_unsafe" | "too_deep";
}

/**
 * Walks a JSON value without recursion (so no input can overflow the stack) and names the
 * first problem: a key or string with NUL or a lone surrogate, or nesting past `maxDepth`
 * (a scalar is depth 0, an object or array one more than its deepest member).
 */
export function findUnsafeInput(value: unknown, maxDepth: number = INPUT_MAX_DEPTH): InputIssue | undefined {
  const stack: { v: unknown; path: (string | number)[] }[] = [{ v: value, path: [] }];
  while (stack.length > 0) {
    const { v, path } = stack.pop()!;
    if (typeof v === "string") {
      const reason = unsafeTextReason(v);
      if (reason) return { path, message: reason, type: "string_unsafe" };
      continue;
    }
    if (typeof v !== "object" || v === null) continue;
    // `path.length` containers enclose v; v itself is one more level.
    if (path.length + 1 > maxDepth) return { path, message: `nests deeper than ${maxDepth} levels`, type: "too_deep" };
    if (Array.isArray(v)) {
      for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: [...path, i] });
      continue;
    }
    const entries = Object.entries(v);
    for (let i = entries.length - 1; i >= 0; i--) {
      const [k, child] = entries[i]!;
      const reason = unsafeTextReason(k);
      // JSON escapes the key when the issue is rendered, so the path names it exactly.
      if (reason) return { path: [...path, k], message: `the key ${reason}`, type: "key_unsafe" };
      stack.push({ v: child, path: [...path, k] });
    }
  }
  return undefined;
}

/** Adds the walker's finding to a zod context, relative to the value being refined. */
function refineSafe(maxDepth: number) {
  return (v: unknown, ctx: z.core.$RefinementCtx) => {
    const issue = findUnsafeInput(v, maxDepth);
    if (issue) ctx.addIssue({ code: "custom", path: issue.path, message: issue.message, params: { type: issue.type } });
  };
}

/** A resource's config: a JSON object at most CONFIG_MAX_DEPTH deep, every key and string storable. */
export const ConfigObject = () => z.record(z.string(), z.unknown()).superRefine(refineSafe(CONFIG_MAX_DEPTH));

/** A storable string of at most `max` characters. */
export const safeText = (max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .superRefine((s, ctx) => {
      const reason = unsafeTextReason(s);
      if (reason) ctx.addIssue({ code: "custom", message: reason });
    });

/** A required storable string: trimmed, not empty, at most `max` characters. */
export const safeNonEmpty = (max: number) =>
  z
    .string()
    .trim()
    .min(1, "must not be empty")
    .max(max, `must be at most ${max} characters`)
    .superRefine((s, ctx) => {
      const reason = unsafeTextReason(s);
      if (reason) ctx.addIssue({ code: "custom", message: reason });
    });

/** A resource's tags: at most TEXT_LIMITS.tags of them, each storable and at most TEXT_LIMITS.tag characters. */
export const Tags = () => z.array(safeText(TEXT_LIMITS.tag)).max(TEXT_LIMITS.tags, `must have at most ${TEXT_LIMITS.tags} tags`);
