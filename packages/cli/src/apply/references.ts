import { PROVIDER_RE, REFERENCE_INTERPOLATION, RESOURCE_NAME_RE, TYPE_NAME_RE, resourceId } from "@pragma/contracts";

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

/** The API's canonical id (the contract's resourceId); never split on `_` (names may contain it). */
export const idOf = (r: ResourceKey): string => resourceId(r);

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

/** Every `${…}` in a string: the ones that are not a well-formed reference are reported if they look like one. */
const INTERPOLATION = /\$\{([^}]*)\}/g;
const OUTPUTS = ".outputs.";
/** The store's grammar (the contract's), anchored: what the server will resolve. */
const WHOLE_REFERENCE = new RegExp(`^${REFERENCE_INTERPOLATION.source}$`);

/** The inside of `${provider/resource/name.outputs.field}`, by the contract's grammar; undefined when malformed. */
export function parseInterpolation(inner: string): (ResourceKey & { field: string }) | undefined {
  const m = WHOLE_REFERENCE.exec(`\${${inner}}`);
  return m ? { provider: m[1]!, resource: m[2]!, name: m[3]!, field: m[4]! } : undefined;
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
