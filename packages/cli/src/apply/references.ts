import { PROVIDER_RE, RESOURCE_NAME_RE, TYPE_NAME_RE } from "@pragma/contracts";

export interface ResourceKey {
  provider: string;
  resource: string;
  name: string;
}

export interface FieldReference extends ResourceKey {
  field: string;
  /** Where in the document the reference sits, e.g. `config.env[0].value`. */
  path: string;
}

export const keyOf = (r: ResourceKey): string => `${r.provider}/${r.resource}/${r.name}`;

/** The API's canonical id; never split on `_` (names may contain it). */
export const idOf = (r: ResourceKey): string => `resource:${r.provider}_${r.resource}_${r.name}`;

export function isValidKey(r: ResourceKey): boolean {
  return PROVIDER_RE.test(r.provider) && TYPE_NAME_RE.test(r.resource) && RESOURCE_NAME_RE.test(r.name);
}

/** `provider/resource/name` (as in depends_on and the CLI); undefined when malformed. */
export function parseSlashKey(value: string): ResourceKey | undefined {
  const parts = value.split("/");
  if (parts.length !== 3) return undefined;
  const [provider, resource, name] = parts as [string, string, string];
  const key = { provider, resource, name };
  return isValidKey(key) ? key : undefined;
}

const INTERPOLATION = /\$\{([^}]*)\}/g;
const OUTPUTS = ".outputs.";

/** The inside of `${provider/resource/name.outputs.field}`; names may hold dots, so split at `.outputs.`. */
export function parseInterpolation(inner: string): (ResourceKey & { field: string }) | undefined {
  const at = inner.indexOf(OUTPUTS);
  if (at < 0) return undefined;
  const key = parseSlashKey(inner.slice(0, at).trim());
  const field = inner.slice(at + OUTPUTS.length).trim();
  if (!key || !field) return undefined;
  return { ...key, field };
}

function asReferenceObject(value: Record<string, unknown>): (ResourceKey & { field: string }) | undefined {
  const { provider, resource, name, field } = value;
  if (typeof provider === "string" && typeof resource === "string" && typeof name === "string" && typeof field === "string") {
    return { provider, resource, name, field };
  }
  return undefined;
}

/**
 * Every field reference inside a config, at any depth, in the three forms the API
 * accepts: `{provider,resource,name,field}`, `{"$ref": {...}}`, and `${p/r/n.outputs.f}`
 * anywhere inside a string. Malformed ones are returned as problems rather than ignored,
 * because the server would otherwise pass them to the provider as literal text.
 */
export function extractReferences(value: unknown, path = "config"): { references: FieldReference[]; problems: string[] } {
  const references: FieldReference[] = [];
  const problems: string[] = [];

  const visit = (v: unknown, at: string): void => {
    if (typeof v === "string") {
      for (const m of v.matchAll(INTERPOLATION)) {
        const inner = m[1] ?? "";
        const ref = parseInterpolation(inner);
        if (ref) references.push({ ...ref, path: at });
        // Only `${…}` that look like resource references are ours; anything else may be meant for the provider.
        else if (inner.includes("/") || inner.includes(OUTPUTS)) {
          problems.push(`${at}: malformed reference "\${${inner}}" (expected \${provider/resource/name.outputs.field})`);
        }
      }
      return;
    }
    if (Array.isArray(v)) {
      v.forEach((item, i) => visit(item, `${at}[${i}]`));
      return;
    }
    if (v && typeof v === "object") {
      const obj = v as Record<string, unknown>;
      const keys = Object.keys(obj);
      if (keys.length === 1 && keys[0] === "$ref") {
        const inner = obj.$ref;
        const ref = inner && typeof inner === "object" ? asReferenceObject(inner as Record<string, unknown>) : undefined;
        if (ref && isValidKey(ref)) references.push({ ...ref, path: at });
        else problems.push(`${at}: malformed $ref (expected {provider, resource, name, field})`);
        return;
      }
      const ref = asReferenceObject(obj);
      if (ref && keys.length === 4) {
        if (isValidKey(ref)) references.push({ ...ref, path: at });
        else problems.push(`${at}: reference to an invalid resource "${keyOf(ref)}"`);
        return;
      }
      for (const k of keys) visit(obj[k], `${at}.${k}`);
    }
  };

  visit(value, path);
  return { references, problems };
}
