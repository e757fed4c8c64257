import { createHash, timingSafeEqual } from "node:crypto";

/**
 * Constant-time comparison of the presented system key. Both sides are hashed first
 * so the comparison length never depends on (or leaks) the secret's length.
 */
export function serverKeyMatches(expected: string, presented: string | undefined): boolean {
  if (presented === undefined || presented === "") return false;
  const a = createHash("sha256").update(expected, "utf8").digest();
  const b = createHash("sha256").update(presented, "utf8").digest();
  return timingSafeEqual(a, b);
}
