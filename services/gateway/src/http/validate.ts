import type { z } from "zod";
import { findUnsafeInput, INPUT_MAX_DEPTH } from "@pragma/contracts";
import { AppError, type ValidationIssue } from "@pragma/errors";

/** zod issues in pragma's (FastAPI's) 422 shape: [{loc, msg, type}]. */
export function toValidationIssues(issues: readonly z.core.$ZodIssue[], where: "body" | "query" | "path" | "header"): ValidationIssue[] {
  return issues.map((issue) => {
    const loc: (string | number)[] = [where, ...issue.path.map((p) => (typeof p === "symbol" ? String(p) : p))];
    // "input" is only present because we parse with reportInput; it is read here and never rendered.
    if (issue.code === "invalid_type" && (issue as { input?: unknown }).input === undefined) {
      return { loc, msg: "field required", type: "missing" };
    }
    return { loc, msg: issue.message, type: issueType(issue) };
  });
}

function issueType(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      return `${issue.expected}_type`;
    case "too_small":
      return `too_short`;
    case "too_big":
      return `too_long`;
    case "invalid_format":
      return issue.format === "regex" ? "string_pattern_mismatch" : `${issue.format}_format`;
    case "invalid_value":
      return "literal_error";
    case "unrecognized_keys":
      return "extra_forbidden";
    case "custom": {
      const type = (issue.params as { type?: unknown } | undefined)?.type;
      return typeof type === "string" ? type : "value_error";
    }
    default:
      return "value_error";
  }
}

export function parseWith<S extends z.ZodType>(schema: S, value: unknown, where: "body" | "query" | "path" | "header"): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  throw new AppError("VALIDATION_FAILED", toValidationIssues(result.error.issues, where));
}

/**
 * The edge's first line against bytes nothing downstream can store (NUL, lone surrogates)
 * and nesting no walk should have to survive, for every route's path, query and body,
 * before any schema recurses into them. Route schemas then apply the field limits.
 */
export function rejectUnsafeInput(value: unknown, where: "body" | "query" | "path"): void {
  const issue = findUnsafeInput(value, INPUT_MAX_DEPTH);
  if (issue) throw new AppError("VALIDATION_FAILED", [{ loc: [where, ...issue.path], msg: issue.message, type: issue.type }]);
}
