/**
 * The closed set of error codes. Every failure that crosses a service boundary
 * (HTTP or bus) carries one of these; the gateway maps them to statuses with
 * HTTP_STATUS and renders {detail, code, request_id}.
 */
export const ERROR_CODES = [
  "BAD_REQUEST",
  "VALIDATION_FAILED",
  "UNAUTHENTICATED",
  "FORBIDDEN",
  "NOT_FOUND",
  "METHOD_NOT_ALLOWED",
  "CONFLICT",
  "ALREADY_EXISTS",
  "PAYLOAD_TOO_LARGE",
  "RATE_LIMITED",
  "DEPENDENCY_FAILED",
  "UPSTREAM_ERROR",
  "UNAVAILABLE",
  "TIMEOUT",
  "INTERNAL",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export const HTTP_STATUS: Record<ErrorCode, number> = {
  BAD_REQUEST: 400,
  VALIDATION_FAILED: 422,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  METHOD_NOT_ALLOWED: 405,
  CONFLICT: 409,
  ALREADY_EXISTS: 409,
  PAYLOAD_TOO_LARGE: 413,
  RATE_LIMITED: 429,
  DEPENDENCY_FAILED: 422,
  UPSTREAM_ERROR: 502,
  UNAVAILABLE: 503,
  TIMEOUT: 504,
  INTERNAL: 500,
};

/** pragma's 422 list entry. */
export interface ValidationIssue {
  loc: (string | number)[];
  msg: string;
  type: string;
}

export type ErrorDetail = string | Record<string, unknown> | ValidationIssue[];

export class AppError extends Error {
  readonly code: ErrorCode;
  readonly detail: ErrorDetail;

  constructor(code: ErrorCode, detail: ErrorDetail, options?: { cause?: unknown }) {
    super(typeof detail === "string" ? detail : code, options);
    this.name = "AppError";
    this.code = code;
    this.detail = detail;
  }

  get status(): number {
    return HTTP_STATUS[this.code];
  }

  /** Wire form used on the bus and at the edge (without request_id, which the edge adds). */
  toJSON(): { code: ErrorCode; detail: ErrorDetail } {
    return { code: this.code, detail: this.detail };
  }

  static fromJSON(value: unknown): AppError {
    if (isWireError(value)) return new AppError(value.code, value.detail);
    return new AppError("INTERNAL", "Internal server error");
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === "string" && (ERROR_CODES as readonly string[]).includes(value);
}

function isWireError(value: unknown): value is { code: ErrorCode; detail: ErrorDetail } {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return isErrorCode(v.code) && (typeof v.detail === "string" || typeof v.detail === "object");
}

export const notFound = (detail: ErrorDetail) => new AppError("NOT_FOUND", detail);
export const conflict = (detail: ErrorDetail) => new AppError("CONFLICT", detail);
export const badRequest = (detail: ErrorDetail) => new AppError("BAD_REQUEST", detail);
export const validationFailed = (issues: ValidationIssue[] | Record<string, unknown>) =>
  new AppError("VALIDATION_FAILED", issues);
