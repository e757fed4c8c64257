import type { ResourceDefinition } from "@pragma/contracts";
import { isSensitiveKey, REDACTED } from "../dead-letters/redact";

/**
 * Sensitive outputs (a role's password, its connection string, a secret's value) are
 * redacted in every API answer unless an admin asks for one resource with `reveal`.
 * Which outputs are sensitive is what the type declares: `x-sensitive` (or `writeOnly`)
 * on an `outputs_schema` property, as the provider SDK marks them, and, for every type,
 * any key whose name says secret (password, token, connection_string, …): a type such
 * as pragma/config echoes whatever its config resolved to, references to another
 * resource's secrets included, and a type the catalogue does not know declares nothing.
 * Redacting too much is the safe side; an admin can always reveal.
 */
export type OutputRedactor = (provider: string, resourceType: string, outputs: Record<string, unknown>) => Record<string, unknown>;

export function outputRedactor(types: readonly ResourceDefinition[] | null): OutputRedactor {
  const declared = new Map<string, Set<string>>();
  for (const t of types ?? []) declared.set(`${t.provider}/${t.resource}`, new Set(sensitiveKeys(t.outputs_schema)));
  return (provider, resourceType, outputs) => {
    const keys = declared.get(`${provider}/${resourceType}`);
    const sensitive = (k: string) => keys?.has(k) === true || isSensitiveKey(k);
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(outputs)) {
      if (v === null || v === undefined || !sensitive(k)) continue;
      out ??= { ...outputs };
      out[k] = REDACTED;
    }
    return out ?? outputs;
  };
}

/** Top-level keys a type's JSON Schema (config or outputs) marks `x-sensitive` or `writeOnly`, as the provider SDK does. */
export function sensitiveKeys(schema: Record<string, unknown>): string[] {
  const props = schema.properties;
  if (!props || typeof props !== "object") return [];
  return Object.entries(props as Record<string, Record<string, unknown> | null>)
    .filter(([, p]) => p && (p["x-sensitive"] === true || p.writeOnly === true))
    .map(([k]) => k);
}
