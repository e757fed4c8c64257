import type { IncomingHttpHeaders } from "node:http";
import { z } from "zod";
import { HTTP_HEADERS } from "@pragma/contracts";
import { AppError } from "@pragma/errors";

/**
 * The Idempotency-Key request header (draft-ietf-httpapi-idempotency-key-header): the store
 * answers a repeat of the key (in the same org, project and space) with the first answer,
 * and the key with another body with 422. The draft's form is a quoted Structured Field
 * string ("…"); a bare value is accepted too. 1-255 printable ASCII characters, no quote
 * or backslash: the key travels in an AMQP header and is stored.
 */
const KEY = /^[\x21\x23-\x5B\x5D-\x7E]{1,255}$/;

export const IdempotencyKeyHeader = z.object({
  [HTTP_HEADERS.idempotencyKey]: z
    .string()
    .optional()
    .describe(
      'Makes the request safe to retry: a repeat with the same key (within 24 h, same org, project and space) gets the first answer and runs nothing again; the same key with a different body is 422. A quoted string ("…") or a bare value, 1-255 printable ASCII characters.',
    ),
});

/** The request's Idempotency-Key, if it sent one; a malformed one is 422 naming the header. */
export function idempotencyKeyOf(headers: IncomingHttpHeaders): string | undefined {
  const raw = headers[HTTP_HEADERS.idempotencyKey];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw.join(",") : raw;
  const unquoted = value.length >= 2 && value.startsWith('"') && value.endsWith('"') ? value.slice(1, -1) : value;
  if (!KEY.test(unquoted)) {
    throw new AppError("VALIDATION_FAILED", [
      { loc: ["header", "Idempotency-Key"], msg: "must be 1-255 printable ASCII characters without quote or backslash, optionally in double quotes", type: "value_error" },
    ]);
  }
  return unquoted;
}
