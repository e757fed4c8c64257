import { z } from "zod";
import type { HealthResult, HookContext, InspectContext, LogLine, Observation } from "./context";

const NAME_RE = /^[a-z][a-z0-9-]*$/;
const TYPE_RE = /^[a-z][a-z0-9_-]*$/;

export const SENSITIVE = "x-sensitive";

/**
 * Marks a field as sensitive: its JSON Schema carries `"x-sensitive": true` (and
 * `writeOnly` for config fields), the API redacts it, and the worker scrubs its value
 * from error messages and dead letters. Metadata lives in zod's global registry, so
 * it survives `.optional()` and `.default()` wrappers.
 */
export function sensitive<T extends z.ZodType>(schema: T): T {
  return schema.meta({ [SENSITIVE]: true }) as T;
}

function isMarkedSensitive(schema: z.ZodType): boolean {
  let s: z.ZodType | undefined = schema;
  // Walk through wrappers (optional, nullable, default, …) to the marked schema.
  for (let i = 0; s && i < 8; i++) {
    if (z.globalRegistry.get(s)?.[SENSITIVE] === true) return true;
    const inner: z.ZodType | undefined = (s as unknown as { _zod: { def: { innerType?: z.ZodType } } })._zod.def.innerType;
    s = inner;
  }
  return false;
}

/** Top-level keys of an object schema marked with sensitive(). */
export function sensitiveKeysOf(schema: z.ZodType): string[] {
  if (!(schema instanceof z.ZodObject)) return [];
  return Object.entries(schema.shape as Record<string, z.ZodType>)
    .filter(([, s]) => isMarkedSensitive(s))
    .map(([k]) => k);
}

type Outputs = Record<string, unknown>;

export interface ResourceTypeSpec<CS extends z.ZodType, OS extends z.ZodType> {
  name: string;
  description: string;
  config: CS;
  outputs: OS;
  /** In addition to fields marked with sensitive(). */
  sensitiveOutputs?: string[];
  tags?: string[];
  create(ctx: HookContext<z.infer<CS>, z.infer<OS>>): Promise<z.input<OS>>;
  /** ctx.previousConfig holds the last applied config. */
  update(ctx: HookContext<z.infer<CS>, z.infer<OS>>): Promise<z.input<OS>>;
  delete(ctx: HookContext<z.infer<CS>, z.infer<OS>>): Promise<void>;
  health?(ctx: InspectContext<z.infer<CS>, z.infer<OS>>): Promise<HealthResult>;
  logs?(ctx: InspectContext<z.infer<CS>, z.infer<OS>>, query: { tail: number; since?: string }): Promise<LogLine[]>;
  /**
   * Reads the real object (read-only) for drift detection: its fields or its absence.
   * A type without it is never observed.
   */
  observe?(ctx: InspectContext<z.infer<CS>, z.infer<OS>>): Promise<Observation>;
  /** How often each resource of this type is observed (jittered); default 60 s. */
  observeIntervalSeconds?: number;
}

/** The erased form the runtime works with. */
export interface ResourceType {
  name: string;
  description: string;
  config: z.ZodType;
  outputs: z.ZodType;
  /** Output keys to redact: explicit list plus sensitive() marks. */
  sensitiveOutputs: string[];
  /** Config keys marked sensitive(). */
  sensitiveConfig: string[];
  tags: string[];
  create(ctx: HookContext<any, any>): Promise<Outputs>;
  update(ctx: HookContext<any, any>): Promise<Outputs>;
  delete(ctx: HookContext<any, any>): Promise<void>;
  health?(ctx: InspectContext<any, any>): Promise<HealthResult>;
  logs?(ctx: InspectContext<any, any>, query: { tail: number; since?: string }): Promise<LogLine[]>;
  observe?(ctx: InspectContext<any, any>): Promise<Observation>;
  observeIntervalSeconds?: number;
}

export function defineResourceType<CS extends z.ZodType, OS extends z.ZodType>(spec: ResourceTypeSpec<CS, OS>): ResourceType {
  if (!TYPE_RE.test(spec.name)) throw new Error(`resource type name "${spec.name}" must match ${TYPE_RE}`);
  const sensitiveOutputs = [...new Set([...(spec.sensitiveOutputs ?? []), ...sensitiveKeysOf(spec.outputs)])];
  const t: ResourceType = {
    name: spec.name,
    description: spec.description,
    config: spec.config,
    outputs: spec.outputs,
    sensitiveOutputs,
    sensitiveConfig: sensitiveKeysOf(spec.config),
    tags: spec.tags ?? [],
    create: spec.create as ResourceType["create"],
    update: spec.update as ResourceType["update"],
    delete: spec.delete as ResourceType["delete"],
  };
  if (spec.health) t.health = spec.health as ResourceType["health"];
  if (spec.logs) t.logs = spec.logs as ResourceType["logs"];
  if (spec.observe) t.observe = spec.observe as ResourceType["observe"];
  if (spec.observeIntervalSeconds !== undefined) {
    if (!(spec.observeIntervalSeconds >= 1)) throw new Error(`resource type ${spec.name}: observeIntervalSeconds must be at least 1`);
    t.observeIntervalSeconds = spec.observeIntervalSeconds;
  }
  return t;
}

export interface Provider {
  name: string;
  types: ReadonlyMap<string, ResourceType>;
}

export function defineProvider(spec: { name: string; types: ResourceType[] }): Provider {
  if (!NAME_RE.test(spec.name)) throw new Error(`provider name "${spec.name}" must match ${NAME_RE}`);
  const types = new Map<string, ResourceType>();
  for (const t of spec.types) {
    if (types.has(t.name)) throw new Error(`provider ${spec.name}: duplicate resource type ${t.name}`);
    types.set(t.name, t);
  }
  return { name: spec.name, types };
}

/** The shape GET /resources/types lists (api.md §4). */
export interface TypeDefinition {
  provider: string;
  resource: string;
  description: string;
  schema: Record<string, unknown>;
  outputs_schema: Record<string, unknown>;
  sensitive_outputs: string[];
  tags: string[];
}

function jsonSchema(schema: z.ZodType, io: "input" | "output"): Record<string, unknown> {
  return z.toJSONSchema(schema, {
    io,
    // A schema with a transform or custom check still documents its shape.
    unrepresentable: "any",
    override: (ctx) => {
      // Config is what users send: a sensitive field can be written but never read back.
      if (io === "input" && (ctx.jsonSchema as Record<string, unknown>)[SENSITIVE] === true) ctx.jsonSchema.writeOnly = true;
    },
  }) as Record<string, unknown>;
}

export function typeDefinitions(provider: Provider): TypeDefinition[] {
  return [...provider.types.values()]
    .map((t) => ({
      provider: provider.name,
      resource: t.name,
      description: t.description,
      // Config is validated as users send it (defaults optional); outputs as providers produce them.
      schema: jsonSchema(t.config, "input"),
      outputs_schema: jsonSchema(t.outputs, "output"),
      sensitive_outputs: t.sensitiveOutputs,
      tags: t.tags,
    }))
    .sort((a, b) => a.resource.localeCompare(b.resource));
}
