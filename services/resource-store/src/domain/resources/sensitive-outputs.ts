import type { ResourceDefinition } from "@pragma/contracts";
import { isSealed } from "@pragma/crypto";
import { REDACTED, isSensitiveKey } from "@pragma/logger";

/**
 * Sensitive values (spec §4.3) are redacted in every API answer, config and outputs
 * alike, unless an admin asks for one resource with `reveal`. A value is sensitive when
 * it is sealed (the store seals what it knows is sensitive before storing it, and
 * sealing travels along references: see references.ts), when the type declares its
 * field `x-sensitive` (or `writeOnly`) in `schema` / `outputs_schema`, as the provider
 * SDK marks them, and, for every type, when its key names a secret (password, token,
 * connection_string, …, the one list in @pragma/logger): a type such as pragma/config
 * echoes whatever its config resolved to, and a type the catalogue does not know
 * declares nothing. The last two also cover rows written before sealing existed.
 * Redacting too much is the safe side; an admin can always reveal.
 */
export type ValueRedactor = (provider: string, resourceType: string, values: Record<string, unknown>) => Record<string, unknown>;

export interface ResourceRedactor {
  config: ValueRedactor;
  outputs: ValueRedactor;
}

export function resourceRedactor(types: readonly ResourceDefinition[] | null): ResourceRedactor {
  const config = new Map<string, Set<string>>();
  const outputs = new Map<string, Set<string>>();
  for (const t of types ?? []) {
    config.set(`${t.provider}/${t.resource}`, new Set(sensitiveKeys(t.schema)));
    outputs.set(`${t.provider}/${t.resource}`, new Set(sensitiveKeys(t.outputs_schema)));
  }
  const redactor =
    (declared: Map<string, Set<string>>): ValueRedactor =>
    (provider, resourceType, values) =>
      redactSensitive(values, declared.get(`${provider}/${resourceType}`));
  return { config: redactor(config), outputs: redactor(outputs) };
}

/** Outputs only (kept for callers that show nothing else). */
export function outputRedactor(types: readonly ResourceDefinition[] | null): ValueRedactor {
  return resourceRedactor(types).outputs;
}

/** The same object when nothing in it is sensitive; otherwise a copy with every sensitive value "[REDACTED]". */
function redactSensitive(values: Record<string, unknown>, declared: Set<string> | undefined): Record<string, unknown> {
  let changed = false;
  const walk = (v: unknown, top: boolean): unknown => {
    if (isSealed(v)) {
      changed = true;
      return REDACTED;
    }
    if (Array.isArray(v)) {
      const out = v.map((x) => walk(x, false));
      return out.some((x, i) => x !== v[i]) ? out : v;
    }
    if (v && typeof v === "object") {
      let out: Record<string, unknown> | undefined;
      for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
        const sensitive = x !== null && x !== undefined && (isSensitiveKey(k) || (top && declared?.has(k) === true));
        const next = sensitive ? REDACTED : walk(x, false);
        if (next !== x) {
          changed = true;
          out ??= { ...(v as Record<string, unknown>) };
          out[k] = next;
        }
      }
      return out ?? v;
    }
    return v;
  };
  const out = walk(values, true) as Record<string, unknown>;
  return changed ? out : values;
}

/** Top-level keys a type's JSON Schema (config or outputs) marks `x-sensitive` or `writeOnly`, as the provider SDK does. */
export function sensitiveKeys(schema: Record<string, unknown>): string[] {
  const props = schema.properties;
  if (!props || typeof props !== "object") return [];
  return Object.entries(props as Record<string, Record<string, unknown> | null>)
    .filter(([, p]) => p && (p["x-sensitive"] === true || p.writeOnly === true))
    .map(([k]) => k);
}
