/**
 * The serving side of request/reply: what serve() does with one request, alone or in a
 * batch (rpc-batch.ts). Always acks: the answer, good or bad, goes back to the caller
 * rather than to a dead-letter queue it cannot see. Errors go back in AppError's wire
 * form, a raw contract's answer as its bytes (rpc-raw.ts); each request is timed for
 * BrokerOptions.metrics.
 */
import type { Channel, ConsumeMessage, Options } from "amqplib";
import { AppError } from "@pragma/errors";
import { newId } from "@pragma/ids";
import { runWithContext } from "@pragma/logger";
import { ping, type RawAnswer } from "@pragma/contracts";
import { handler as rpcHandler, type HealthCheck, type RpcHandlers } from "./api";
import type { Connection } from "./connection";
import { ACK, type Outcome, type Processor } from "./consumers";
import { inDeliveryContext } from "./deliveries";
import { toValidationIssues } from "./errors";
import { RAW_REPLIES_HEADER, REQUEST_MESSAGE_ID_HEADER, amqpTimestamp, contextFromProperties, withoutUndefined } from "./message-properties";
import { BATCH_REPLY_TYPE, BATCH_REQUEST_TYPE, batchReplyBody, batchRequestSchema, type RpcReply } from "./rpc-batch";
import { rawReply, replyBody, type Answer } from "./rpc-raw";

type HandlersByType = Map<string, RpcHandlers[string]>;

/** One request to answer, alone or from a batch. `readBody` gives its body, throwing if it is not JSON. */
interface IncomingRequest {
  type: string;
  readBody: () => unknown;
  correlationId: string | undefined;
  headers: Record<string, unknown>;
  /** Log fields naming it. */
  meta: Record<string, unknown>;
}

export class RpcServer {
  constructor(
    private readonly conn: Connection,
    /** Reported by the built-in ping handler. */
    private readonly version: string,
  ) {}

  /** The processor of a serve() on `queue`: `handlers`, plus a ping handler unless one is given. */
  processor(queue: string, handlers: RpcHandlers, health: HealthCheck | undefined): Processor {
    const byType: HandlersByType = new Map();
    for (const h of Object.values(handlers)) byType.set(h.contract.type, h);
    if (!byType.has(ping.type)) {
      // ok: this service answers; its own dependencies (its database) are named in checks.
      byType.set(
        ping.type,
        rpcHandler(ping, async () => ({ service: this.conn.options.connectionName, version: this.version, ok: true, ...(health ? { checks: await health() } : {}) })),
      );
    }
    return (msg, ch) => (msg.properties.type === BATCH_REQUEST_TYPE ? this.processBatch(queue, byType, msg, ch) : this.processRequest(queue, byType, msg));
  }

  private processRequest(queue: string, byType: HandlersByType, msg: ConsumeMessage): Promise<Outcome> {
    return inDeliveryContext(queue, msg, async ({ type, headers, meta }): Promise<Outcome> => {
      const correlationId = typeof msg.properties.correlationId === "string" ? msg.properties.correlationId : undefined;
      const answer = await this.answer(byType, { type, readBody: () => JSON.parse(msg.content.toString("utf8")), correlationId, headers, meta });
      return this.replyOutcome(msg, type, answer);
    });
  }

  /** Acks, with `answer` as the reply to `msg` if it says where to. */
  private replyOutcome(msg: ConsumeMessage, type: string, answer: Answer): Outcome {
    const props = msg.properties;
    const replyTo = props.replyTo as string | undefined;
    if (!replyTo) {
      this.conn.log.warn({ type, messageId: props.messageId as unknown }, "request without replyTo; nobody to answer");
      return { disposition: ACK };
    }
    const { content, rawHeader } = replyBody(answer, typeof props.messageId === "string" ? props.messageId : "");
    return { disposition: ACK, reply: { to: replyTo, content, properties: this.replyProperties(type, props.correlationId, props.messageId, rawHeader) } };
  }

  /** `rawHeader`: the body begins with raw answers (rpc-raw.ts). */
  private replyProperties(type: string, correlationId: unknown, requestMessageId: unknown, rawHeader?: string): Options.Publish {
    const headers: Record<string, unknown> = { [REQUEST_MESSAGE_ID_HEADER]: typeof requestMessageId === "string" ? requestMessageId : undefined };
    if (rawHeader !== undefined) headers[RAW_REPLIES_HEADER] = rawHeader;
    return withoutUndefined({
      messageId: newId("message"),
      correlationId: typeof correlationId === "string" ? correlationId : undefined,
      type,
      timestamp: amqpTimestamp(),
      contentType: rawHeader === undefined ? "application/json" : "application/octet-stream",
      appId: this.conn.options.connectionName,
      headers,
    });
  }

  /**
   * A batch of requests (rpc-batch.ts): each runs in its own request context, as it would
   * have alone, all at once; answers go back on the delivery's channel as they are ready,
   * those ready in the same turn together. Acked once every request is answered.
   */
  private async processBatch(queue: string, byType: HandlersByType, msg: ConsumeMessage, ch: Channel): Promise<Outcome> {
    let body: unknown;
    try {
      body = JSON.parse(msg.content.toString("utf8"));
    } catch {
      return this.replyOutcome(msg, BATCH_REQUEST_TYPE, { ok: false, error: new AppError("BAD_REQUEST", "request body is not JSON").toJSON() });
    }
    const batch = batchRequestSchema.safeParse(body);
    if (!batch.success) {
      this.conn.log.warn({ queue, messageId: msg.properties.messageId as unknown }, "batch of requests that fails its envelope");
      return this.replyOutcome(msg, BATCH_REQUEST_TYPE, { ok: false, error: new AppError("VALIDATION_FAILED", toValidationIssues(batch.error)).toJSON() });
    }
    const replyTo = msg.properties.replyTo as string | undefined;
    const ready: { id: string; reply: Answer }[] = [];
    let scheduled: NodeJS.Immediate | null = null;
    const send = () => {
      scheduled = null;
      if (ready.length === 0 || !replyTo) return;
      const replies = ready.splice(0);
      // A closed channel: the broker redelivers the batch, and it is answered then.
      if (this.conn.isClosed(ch)) return;
      try {
        const { content, rawHeader } = batchReplyBody(replies);
        ch.sendToQueue(replyTo, content, this.replyProperties(BATCH_REPLY_TYPE, undefined, msg.properties.messageId, rawHeader));
      } catch (err) {
        this.conn.log.debug({ err, queue }, "dropping batch replies: channel closing");
      }
    };
    if (!replyTo) this.conn.log.warn({ queue, messageId: msg.properties.messageId as unknown }, "batch of requests without replyTo; nobody to answer");
    await Promise.all(
      batch.data.requests.map((e) => {
        const ctx = contextFromProperties({ correlationId: e.correlationId, messageId: e.id, headers: e.headers });
        return runWithContext(ctx, async () => {
          const reply = await this.answer(byType, { type: e.type, readBody: () => e.data, correlationId: e.correlationId, headers: e.headers, meta: { queue, type: e.type, messageId: e.id } });
          ready.push({ id: e.id, reply });
          scheduled ??= setImmediate(send);
        });
      }),
    );
    if (scheduled) clearImmediate(scheduled);
    send();
    return { disposition: ACK };
  }

  /** Timed for BrokerOptions.metrics. */
  private async answer(byType: HandlersByType, req: IncomingRequest): Promise<Answer> {
    const metrics = this.conn.options.metrics;
    if (!metrics) return this.answerUntimed(byType, req);
    const started = performance.now();
    const reply = await this.answerUntimed(byType, req);
    metrics.rpcServer(byType.has(req.type) ? req.type : "unknown", reply.ok ? "ok" : reply.error.code, (performance.now() - started) / 1000);
    return reply;
  }

  private async answerUntimed(byType: HandlersByType, { type, readBody, correlationId, headers, meta }: IncomingRequest): Promise<Answer> {
    const fail = (err: AppError): RpcReply => ({ ok: false, error: err.toJSON() });
    const h = byType.get(type);
    if (!h) {
      this.conn.log.warn(meta, "request of unknown type");
      return fail(new AppError("BAD_REQUEST", `unknown request type: ${type}`));
    }
    let body: unknown;
    try {
      body = readBody();
    } catch {
      return fail(new AppError("BAD_REQUEST", "request body is not JSON"));
    }
    const req = h.contract.request.safeParse(body);
    if (!req.success) return fail(new AppError("VALIDATION_FAILED", toValidationIssues(req.error)));
    let data: unknown;
    try {
      data = await h.handle(req.data, { correlationId, headers });
    } catch (err) {
      if (err instanceof AppError) {
        this.conn.log.info({ ...meta, code: err.code }, "request answered with an error");
        return fail(err);
      }
      this.conn.log.error({ ...meta, err }, "request handler failed");
      return fail(new AppError("INTERNAL", "Internal server error"));
    }
    const res = h.contract.response.safeParse(data);
    if (!res.success) {
      this.conn.log.error({ ...meta, issues: toValidationIssues(res.error) }, "request handler returned a response that fails its contract");
      return fail(new AppError("INTERNAL", "Internal server error"));
    }
    return h.contract.raw ? rawReply(res.data as RawAnswer<unknown>) : { ok: true, data: res.data };
  }
}
