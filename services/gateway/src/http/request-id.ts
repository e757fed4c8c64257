import type { RequestHandler } from "express";
import { newId } from "@pragma/ids";
import { runWithContext } from "@pragma/logger";
import { HTTP_HEADERS } from "@pragma/contracts";

/** Client ids are echoed into logs and AMQP headers, so only a conservative shape is accepted. */
const WELL_FORMED = /^[A-Za-z0-9][A-Za-z0-9_.:-]{7,127}$/;

export function acceptOrMintRequestId(header: string | string[] | undefined): string {
  const value = Array.isArray(header) ? header[0] : header;
  return value !== undefined && WELL_FORMED.test(value) ? value : newId("request");
}

/** First middleware: every response, errors included, carries the id. */
export const assignRequestId: RequestHandler = (req, res, next) => {
  const requestId = acceptOrMintRequestId(req.headers[HTTP_HEADERS.requestId]);
  res.locals.requestId = requestId;
  res.setHeader("X-Request-Id", requestId);
  next();
};

/**
 * Runs the rest of the request inside the logger's async context, so the bus uses the
 * request id as the AMQP correlationId. Mounted after the body parser on purpose: the
 * parser resumes from the socket's 'end' event, which runs outside any context entered
 * before it.
 */
export const bindRequestContext: RequestHandler = (_req, res, next) => {
  runWithContext({ requestId: res.locals.requestId }, next);
};
