import { PROVIDER_RE, REFERENCE_INTERPOLATION, RESOURCE_NAME_RE, TYPE_NAME_RE, resourceId, type ResourceRef } from "@pragma/contracts";

/** A field reference: the value of `field` (a dotted path) in the target's outputs. */
export interface FieldReference {
  target: ResourceRef;
  field: string;
}

export type ConfigPath = (string | number)[];

/** Where references sit in a config: a whole value (object form) or a string with `${…}` in it. */
export interface ReferenceSite {
  path: ConfigPath;
  refs: FieldReference[];
}

const REF_KEYS = ["field", "name", "provider", "resource"];
// The grammar of `${provider/resource/name.outputs.field}` is the contract's (the CLI checks the same).
const INTERPOLATION = REFERENCE_INTERPOLATION;

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function asRef(v: unknown): FieldReference | null {
  if (!isPlainObject(v)) return null;
  const keys = Object.keys(v).sort();
  if (keys.length !== REF_KEYS.length || keys.some((k, i) => k !== REF_KEYS[i])) return null;
  const { provider, resource, name, field } = v;
  if (typeof provider !== "string" || typeof resource !== "string" || typeof name !== "string" || typeof field !== "string") return null;
  return { target: { provider, resource, name }, field };
}

/** `{provider, resource, name, field}` or `{"$ref": {…}}`; anything else is plain config. */
export function referenceObject(v: unknown): FieldReference | null {
  if (isPlainObject(v) && Object.keys(v).length === 1 && "$ref" in v) return asRef(v.$ref);
  return asRef(v);
}

export function interpolations(s: string): FieldReference[] {
  const out: FieldReference[] = [];
  for (const m of s.matchAll(INTERPOLATION)) out.push({ target: { provider: m[1]!, resource: m[2]!, name: m[3]! }, field: m[4]! });
  return out;
}

/** Every reference in a config, at any depth (objects and arrays). */
export function findReferences(config: unknown, path: ConfigPath = []): ReferenceSite[] {
  const ref = referenceObject(config);
  if (ref) return [{ path, refs: [ref] }];
  if (typeof config === "string") {
    const refs = interpolations(config);
    return refs.length > 0 ? [{ path, refs }] : [];
  }
  if (Array.isArray(config)) return config.flatMap((v, i) => findReferences(v, [...path, i]));
  if (isPlainObject(config)) return Object.entries(config).flatMap(([k, v]) => findReferences(v, [...path, k]));
  return [];
}

/** `depends_on` entries are "provider/resource/name". */
export function parseDependsOn(s: string): ResourceRef | null {
  const [provider, resource, ...rest] = s.split("/");
  const name = rest.join("/");
  if (!provider || !resource || !PROVIDER_RE.test(provider) || !TYPE_NAME_RE.test(resource) || !RESOURCE_NAME_RE.test(name)) return null;
  return { provider, resource, name };
}

/** Explicit dependencies, depends_on and reference targets, deduplicated by id, in first-seen order. */
export function mergeDependencies(...lists: ResourceRef[][]): ResourceRef[] {
  const seen = new Map<string, ResourceRef>();
  for (const r of lists.flat()) {
    const ref = { provider: r.provider, resource: r.resource, name: r.name };
    if (!seen.has(resourceId(ref))) seen.set(resourceId(ref), ref);
  }
  return [...seen.values()];
}

export function readPath(value: unknown, dotted: string): { found: true; value: unknown } | { found: false } {
  let cur: unknown = value;
  for (const seg of dotted.split(".")) {
    if (Array.isArray(cur) && /^\d+$/.test(seg) && Number(seg) < cur.length) cur = cur[Number(seg)];
    else if (isPlainObject(cur) && Object.prototype.hasOwnProperty.call(cur, seg)) cur = cur[seg];
    else return { found: false };
  }
  return { found: true, value: cur };
}

/**
 * Whether an outputs JSON Schema admits `dotted`: a named property, an array index, or
 * a map whose additionalProperties is not false. Where the schema stops describing the
 * shape we cannot say no, so the answer is yes.
 */
export function declaresField(schema: unknown, dotted: string): boolean {
  let s: unknown = schema;
  for (const seg of dotted.split(".")) {
    if (!isPlainObject(s)) return true;
    const props = s.properties;
    if (isPlainObject(props) && Object.prototype.hasOwnProperty.call(props, seg)) {
      s = props[seg];
      continue;
    }
    if (s.type === "array" && /^\d+$/.test(seg)) {
      s = s.items ?? {};
      continue;
    }
    if (s.additionalProperties === false) return false;
    s = isPlainObject(s.additionalProperties) ? s.additionalProperties : {};
  }
  return true;
}

export type Lookup = (ref: FieldReference) => { found: true; value: unknown } | { found: false };

export type Resolution = { ok: true; config: Record<string, unknown> } | { ok: false; ref: FieldReference };

/**
 * How resolution treats sensitive (sealed) values, so that sensitivity travels along
 * references: a whole reference copies the target's sealed value as it is; a sealed
 * value in the config (a secret-named key holding a reference) is opened, resolved and
 * sealed again; an interpolated string with a sealed value in it is sealed as a whole,
 * remembering the sensitive parts it was built from.
 */
export interface Sealing {
  isSealed(v: unknown): v is string;
  open(sealed: string): { value: unknown; parts: string[] };
  seal(value: unknown, parts?: readonly string[]): string;
}

/**
 * Replaces every reference with the target's current output. A string that is exactly
 * one `${…}` takes the output's own JSON type; inside a longer string the value is
 * rendered as text (objects and arrays as JSON).
 */
export function resolveConfig(config: Record<string, unknown>, lookup: Lookup, sealing?: Sealing): Resolution {
  let failed: FieldReference | null = null;
  const walk = (v: unknown): unknown => {
    if (failed) return v;
    if (sealing?.isSealed(v)) {
      const opened = sealing.open(v);
      // Only worth re-sealing (a new ciphertext) when something inside was resolved.
      if (findReferences(opened.value).length === 0) return v;
      return sealing.seal(walk(opened.value), opened.parts);
    }
    const ref = referenceObject(v);
    if (ref) {
      const got = lookup(ref);
      if (!got.found) failed = ref;
      return got.found ? got.value : v;
    }
    if (typeof v === "string") return interpolate(v);
    if (Array.isArray(v)) return v.map(walk);
    if (isPlainObject(v)) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
    return v;
  };
  const interpolate = (s: string): unknown => {
    const refs = interpolations(s);
    if (refs.length === 0) return s;
    const whole = s.match(new RegExp(`^${INTERPOLATION.source}$`));
    if (whole && refs.length === 1) {
      const got = lookup(refs[0]!);
      if (!got.found) failed = refs[0]!;
      return got.found ? got.value : s;
    }
    const parts: string[] = [];
    const text = s.replace(INTERPOLATION, (match, provider: string, resource: string, name: string, field: string) => {
      const ref = { target: { provider, resource, name }, field };
      const got = lookup(ref);
      if (!got.found) {
        failed ??= ref;
        return match;
      }
      let value = got.value;
      if (sealing?.isSealed(value)) {
        const opened = sealing.open(value);
        value = opened.value;
        const rendered = typeof value === "string" ? value : JSON.stringify(value);
        parts.push(rendered, ...opened.parts);
        return rendered;
      }
      return typeof value === "string" ? value : JSON.stringify(value);
    });
    return sealing && parts.length > 0 ? sealing.seal(text, parts) : text;
  };
  const out = walk(config) as Record<string, unknown>;
  return failed ? { ok: false, ref: failed } : { ok: true, config: out };
}
