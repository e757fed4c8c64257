import { createHash } from "node:crypto";
import { HEADERS } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { ResourceRecord } from "./model";
import type { StoreTx } from "./ports";
import { canonical } from "./apply-resource";

/**
 * How the store knows a write request it has already executed (issue 27.4): a request
 * redelivered after a crash between commit and ack, re-sent after a lost reply, or retried
 * by a client with the same Idempotency-Key. Its first answer is recorded in the
 * transaction that does the write (StoreTx.recordAnswer) and a repeat gets it back
 * (StoreTx.recallAnswer) instead of running again.
 */
export interface RequestKey {
  key: string;
  /** sha256 of the request type and body. */
  fingerprint: string;
  /** A client's Idempotency-Key: the same key with another body is refused (422), not run. */
  clientKey: boolean;
}

/**
 * The key of a write request: the client's Idempotency-Key when the gateway passed one
 * (scoped by the table to org, project and space), else the request id (the AMQP
 * correlationId, the same on a redelivery and on the gateway's own re-send) together with
 * the fingerprint, so a client that reuses an X-Request-Id for a different request is not
 * taken for a repeat. No request id, no key: the request runs as before.
 */
export function requestKeyOf(type: string, payload: unknown, ctx: { correlationId: string | undefined; headers: Record<string, unknown> }): RequestKey | undefined {
  const fingerprint = createHash("sha256").update(JSON.stringify(canonical({ type, payload }))).digest("hex");
  const idem = ctx.headers[HEADERS.idempotencyKey];
  if (typeof idem === "string" && idem.length > 0) return { key: `idem:${idem}`, fingerprint, clientKey: true };
  if (!ctx.correlationId) return undefined;
  return { key: `req:${type}:${ctx.correlationId}:${fingerprint}`, fingerprint, clientKey: false };
}

/** The answer recorded for `request`, if it ran before; a client key used for another body is 422. */
export async function recallAnswer(tx: StoreTx, request: RequestKey | undefined): Promise<{ answer: unknown } | null> {
  if (!request) return null;
  const prior = await tx.recallAnswer(request.key);
  if (!prior) return null;
  if (prior.fingerprint !== request.fingerprint) {
    throw new AppError("VALIDATION_FAILED", [
      {
        loc: ["header", "Idempotency-Key"],
        msg: "this key was already used for a different request (another body, resource or space); use a new key for a new request",
        type: "value_error",
      },
    ]);
  }
  return { answer: prior.answer };
}

/** Records `answer` as the first answer of `request`, in the transaction that made it. */
export async function recordAnswer(tx: StoreTx, request: RequestKey | undefined, answer: unknown): Promise<void> {
  if (request) await tx.recordAnswer(request.key, request.fingerprint, answer);
}

/** A resource as recorded in an answer (JSON: its dates are strings). */
export function reviveRecord(answer: unknown): ResourceRecord {
  const r = answer as ResourceRecord & { createdAt: string; updatedAt: string };
  return { ...r, createdAt: new Date(r.createdAt), updatedAt: new Date(r.updatedAt) };
}
