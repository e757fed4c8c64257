import Ajv2020, { type ErrorObject, type ValidateFunction } from "ajv/dist/2020";
import addFormats from "ajv-formats";
import type { ValidationIssue } from "@pragma/errors";
import type { ResourceDefinition } from "@pragma/contracts";
import { findReferences, type ConfigPath } from "./references";

// Types' schemas carry our annotation keywords; strict mode would refuse them.
const ajv = new Ajv2020({ allErrors: true, strict: false, validateFormats: true });
addFormats(ajv);
ajv.addKeyword({ keyword: "x-sensitive" });

/** Compiled once per schema text: a new worker build with a changed schema compiles anew. */
const compiled = new Map<string, ValidateFunction>();

function validatorFor(def: ResourceDefinition): ValidateFunction {
  const key = `${def.provider}/${def.resource}:${JSON.stringify(def.schema)}`;
  let v = compiled.get(key);
  if (!v) {
    const { $schema: _ignored, ...schema } = def.schema;
    v = ajv.compile(schema);
    compiled.set(key, v);
  }
  return v;
}

const pointer = (p: ConfigPath) => p.map((s) => `/${String(s).replace(/~/g, "~0").replace(/\//g, "~1")}`).join("");

/**
 * Validates config against the type's JSON Schema, in pragma's 422 list shape. Values
 * that are references are not the provider's input yet (they are resolved before it
 * sees them), so any complaint at or below a reference is dropped.
 */
export function validateConfig(def: ResourceDefinition, config: Record<string, unknown>): ValidationIssue[] {
  const validate = validatorFor(def);
  if (validate(config)) return [];
  const refPointers = findReferences(config).map((s) => pointer(s.path));
  const underRef = (instancePath: string) => refPointers.some((p) => instancePath === p || instancePath.startsWith(`${p}/`));
  return (validate.errors ?? []).filter((e) => !underRef(e.instancePath)).map(toIssue);
}

function toIssue(e: ErrorObject): ValidationIssue {
  const path = e.instancePath
    .split("/")
    .slice(1)
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  switch (e.keyword) {
    case "required":
      return { loc: ["body", "config", ...path, (e.params as { missingProperty: string }).missingProperty], msg: "field required", type: "missing" };
    case "additionalProperties":
      return { loc: ["body", "config", ...path, (e.params as { additionalProperty: string }).additionalProperty], msg: "extra fields not permitted", type: "extra_forbidden" };
    default:
      return { loc: ["body", "config", ...path], msg: e.message ?? "invalid value", type: issueType(e.keyword) };
  }
}

function issueType(keyword: string): string {
  switch (keyword) {
    case "type":
      return "type_error";
    case "pattern":
      return "string_pattern_mismatch";
    case "enum":
    case "const":
      return "literal_error";
    case "minimum":
    case "exclusiveMinimum":
      return "greater_than_equal";
    case "maximum":
    case "exclusiveMaximum":
      return "less_than_equal";
    case "minLength":
    case "minItems":
      return "too_short";
    case "maxLength":
    case "maxItems":
      return "too_long";
    case "format":
      return "format_error";
    default:
      return "value_error";
  }
}
