import type { ErrorRequestHandler, Response } from "express";
import { AppError, HTTP_STATUS, isErrorCode, type ErrorCode, type ErrorDetail } from "@pragma/errors";
import type { Logger } from "@pragma/logger";

/**
 * Seconds a client should wait before retrying a 503 (a dependency such as PostgreSQL or
 * the broker is unavailable): long enough for a database restart, short enough to retry
 * by hand. A route that knows better (the rate limiter) sets its own header first.
 */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

export function sendError(res: Response, code: ErrorCode, detail: ErrorDetail, status = HTTP_STATUS[code]): void {
  if (status === 401) res.setHeader("WWW-Authenticate", 'Bearer realm="pragma"');
  // A service, the bus or a database is away for the moment (a lost reply among them):
  // retrying is safe for reads, and for writes that carry an Idempotency-Key (the first answer comes back).
  if (status === 503 && !res.hasHeader("Retry-After")) res.setHeader("Retry-After", String(UNAVAILABLE_RETRY_AFTER_SECONDS));
  res.status(status).json({ detail, code, request_id: res.locals.requestId });
}

/** body-parser's errors carry a `type`; they are the client's fault and safe to describe generically. */
function fromBodyParser(err: unknown): AppError | undefined {
  if (typeof err !== "object" || err === null || !("type" in err)) return undefined;
  switch ((err as { type: unknown }).type) {
    case "entity.parse.failed":
      return new AppError("BAD_REQUEST", "Malformed JSON in request body");
    case "entity.too.large":
      return new AppError("PAYLOAD_TOO_LARGE", "Request body too large");
    case "encoding.unsupported":
    case "charset.unsupported":
      return new AppError("BAD_REQUEST", "Unsupported request body encoding");
    case "request.aborted":
      return new AppError("BAD_REQUEST", "Request aborted");
    default:
      return undefined;
  }
}

/** Errors from the bus may come from another copy of @pragma/errors (a built dist), so match by shape too. */
function asAppError(err: unknown): AppError | undefined {
  if (err instanceof AppError) return err;
  if (typeof err === "object" && err !== null && (err as { name?: unknown }).name === "AppError") {
    const e = err as { code: unknown; detail: unknown };
    if (isErrorCode(e.code) && (typeof e.detail === "string" || typeof e.detail === "object")) return new AppError(e.code, e.detail as ErrorDetail);
  }
  return undefined;
}

/**
 * The one place errors become responses. AppErrors render as they are; anything
 * else is logged with its stack and answered with a generic 500, so no internal
 * message or stack trace ever reaches a client.
 */
export function errorMiddleware(logger: Logger): ErrorRequestHandler {
  return (err, req, res, _next) => {
    const known = asAppError(err) ?? fromBodyParser(err);
    if (res.headersSent) {
      logger.error({ err, method: req.method, path: req.path }, "error after response started");
      res.destroy();
      return;
    }
    if (known) {
      if (known.status >= 500) logger.warn({ code: known.code, detail: known.detail, method: req.method, path: req.path }, "upstream failure");
      sendError(res, known.code, known.detail, known.status);
      return;
    }
    logger.error({ err, method: req.method, path: req.path }, "unhandled error");
    sendError(res, "INTERNAL", "Internal server error");
  };
}
