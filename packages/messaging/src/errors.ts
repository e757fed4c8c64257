/**
 * Failures of the bus layer. All are AppErrors so that one that escapes to the edge
 * still renders as {code, detail}; callers that retry (the outbox relay) tell them
 * apart with instanceof.
 */
import { AppError, type ValidationIssue } from "@pragma/errors";
import type { z } from "zod";

/** basic.return: the message was published mandatory and no queue was bound for it. */
export class UnroutableError extends AppError {
  readonly exchange: string;
  readonly routingKey: string;
  readonly messageId: string;
  readonly replyCode: number;
  readonly replyText: string;

  constructor(args: { exchange: string; routingKey: string; messageId: string; replyCode: number; replyText: string }) {
    super("UNAVAILABLE", `message ${args.messageId} unroutable: exchange "${args.exchange}" routing key "${args.routingKey}" (${args.replyCode} ${args.replyText})`);
    this.name = "UnroutableError";
    this.exchange = args.exchange;
    this.routingKey = args.routingKey;
    this.messageId = args.messageId;
    this.replyCode = args.replyCode;
    this.replyText = args.replyText;
  }
}

/** The broker refused responsibility for the message (basic.nack), e.g. overflow reject-publish. */
export class NackError extends AppError {
  readonly messageId: string;
  constructor(messageId: string) {
    super("UNAVAILABLE", `message ${messageId} was nacked by the broker`);
    this.name = "NackError";
    this.messageId = messageId;
  }
}

/**
 * The connection or channel went away before the broker confirmed, or there is no
 * connection right now. The message may or may not have been delivered: publish it
 * again (consumers dedupe by message id).
 */
export class ConnectionLostError extends AppError {
  constructor(detail = "connection to the broker lost before the publish was confirmed", options?: { cause?: unknown }) {
    super("UNAVAILABLE", detail, options);
    this.name = "ConnectionLostError";
  }
}

/** A payload did not match its contract's schema; nothing was sent. */
export class MessageValidationError extends AppError {
  readonly type: string;
  readonly issues: ValidationIssue[];
  constructor(type: string, issues: ValidationIssue[]) {
    super("VALIDATION_FAILED", issues);
    this.message = `invalid ${type} payload: ${issues.map((i) => `${i.loc.join(".") || "(root)"}: ${i.msg}`).join("; ")}`;
    this.name = "MessageValidationError";
    this.type = type;
    this.issues = issues;
  }
}

/** A body longer than the publish's `maxBytes`; nothing was sent. */
export class MessageTooLargeError extends AppError {
  constructor(type: string, bytes: number, maxBytes: number) {
    super("VALIDATION_FAILED", `${type} body of ${bytes} bytes is over the ${maxBytes} allowed`);
    this.name = "MessageTooLargeError";
  }
}

/** zod issues in pragma's 422 list form. */
export function toValidationIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((i) => ({ loc: i.path.map((p) => (typeof p === "number" ? p : String(p))), msg: i.message, type: i.code }));
}
