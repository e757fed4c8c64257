import { UsageError } from "./errors";
import { idOf, parseSlashKey } from "./apply/references";

/**
 * Accepts every id form users meet (the canonical `resource:p_r_n`, the CLI's
 * `p/r/n`, the legacy `p:r:n`) and returns the canonical id, URL-encoded for a path.
 * Normalizing here keeps the CLI working against servers that only know the canonical form.
 */
export function resourcePath(input: string): string {
  return encodeURIComponent(canonicalResourceId(input));
}

export function canonicalResourceId(input: string): string {
  const value = input.trim();
  if (value.startsWith("resource:")) {
    if (value.length > "resource:".length) return value;
  } else {
    const parts = value.includes("/") ? value.split("/") : value.split(":");
    const key = parts.length === 3 ? parseSlashKey(parts.join("/")) : undefined;
    if (key) return idOf(key);
  }
  throw new UsageError(
    `"${input}" is not a resource id`,
    "use provider/resource/name, provider:resource:name or resource:provider_resource_name",
  );
}
