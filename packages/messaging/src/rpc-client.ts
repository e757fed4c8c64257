/**
 * The calling side of request/reply, over RabbitMQ's direct reply-to: one reply channel
 * per connection (replies can only arrive on the channel that sent the request), requests
 * of one turn of the event loop sent together, several to one queue as a batch
 * (rpc-batch.ts), and every waiting request settled exactly once: by its reply, a return
 * (nobody serves the queue), its timeout, or the loss of the reply channel. A raw
 * contract's answer (rpc-raw.ts) reaches the caller as a view of the reply's bytes.
 */
import type { Channel, ConsumeMessage, Message, Options } from "amqplib";
import { AppError } from "@pragma/errors";
import { newId } from "@pragma/ids";
import { currentContext } from "@pragma/logger";
import type { RequestContract } from "@pragma/contracts";
import { ChannelPerConnection, type Connection, type Live } from "./connection";
import { MessageValidationError, toValidationIssues } from "./errors";
import { DIRECT_REPLY_TO, RAW_REPLIES_HEADER, REQUEST_MESSAGE_ID_HEADER, amqpTimestamp, tenantHeaders, withoutUndefined } from "./message-properties";
import { BATCH_REPLY_TYPE, BATCH_REQUEST_TYPE, batchRequestBody, chunkEntries, parseBatchReply, type EntryParts, type RpcReply } from "./rpc-batch";
import { readRawReplies } from "./rpc-raw";

interface PendingRequest {
  queue: string;
  contract: RequestContract<unknown, unknown>;
  finish(err: Error | null, value?: unknown): void;
  /** The batch message it went in, if it went in one. */
  batchId?: string;
}

/** A request waiting for the end of the turn to be sent, alone or in a batch (rpc-batch.ts). */
interface OutgoingRequest extends EntryParts {
  ch: Channel;
  queue: string;
  /** Its properties, had it gone alone. */
  props: Options.Publish;
  timeoutMs: number;
}

export interface RequestOptions {
  timeoutMs?: number;
  correlationId?: string;
  headers?: Record<string, unknown>;
}

export class RpcClient {
  private readonly requestTimeoutMs: number;
  /** The reply channel: replies arrive only on the channel that sent the request. */
  private readonly channels: ChannelPerConnection<Channel>;
  /** Requests waiting for their answer, by message id. */
  private readonly requests = new Map<string, PendingRequest>();
  /** Requests not yet sent: they go at the end of this turn of the event loop (flushRequests). */
  private outgoing: OutgoingRequest[] = [];
  private outgoingFlush: NodeJS.Immediate | null = null;
  /** Batch message id → the ids of its requests still waiting, for a return or an error answered to the whole batch. */
  private readonly batches = new Map<string, Set<string>>();

  constructor(private readonly conn: Connection) {
    this.requestTimeoutMs = conn.options.requestTimeoutMs ?? 10_000;
    this.channels = new ChannelPerConnection(conn, (live) => this.openChannel(live));
  }

  /** Opens the reply channel of a new connection (part of its setup: a failure drops the connection). */
  open(live: Live): Promise<Channel> {
    return this.channels.open(live);
  }

  private async openChannel(live: Live): Promise<Channel> {
    const ch = await this.conn.channel(live, "rpc-client");
    ch.on("return", (msg: Message) => {
      const id = msg.properties.messageId as string | undefined;
      for (const pending of id ? this.waitingFor(id) : []) pending.finish(new AppError("UNAVAILABLE", `service ${pending.queue} unavailable`));
    });
    ch.on("close", () => {
      this.channels.closed(live);
      this.failAll(new AppError("UNAVAILABLE", "reply channel closed before the reply"));
    });
    // Direct reply-to: the consumer must be on the channel that publishes the requests, with noAck.
    await ch.consume(DIRECT_REPLY_TO, (msg) => msg && this.onReply(msg), { noAck: true });
    return ch;
  }

  /** Closes the reply channel of `live` (close(), after failAll). */
  closeChannel(live: Live): Promise<void> {
    return this.channels.close(live);
  }

  /** Rejects every request still waiting with `err`. */
  failAll(err: AppError): void {
    for (const r of [...this.requests.values()]) r.finish(err);
  }

  /** The requests a message id stands for: the request itself, or every request of a batch still waiting. */
  private waitingFor(id: string): PendingRequest[] {
    const one = this.requests.get(id);
    if (one) return [one];
    const batch = this.batches.get(id);
    return batch ? [...batch].flatMap((r) => this.requests.get(r) ?? []) : [];
  }

  private onReply(msg: ConsumeMessage): void {
    const headers = msg.properties.headers as Record<string, unknown> | undefined;
    const isBatch = msg.properties.type === BATCH_REPLY_TYPE;
    let content = msg.content;
    const rawHeader = headers?.[RAW_REPLIES_HEADER];
    if (rawHeader !== undefined) {
      const raw = readRawReplies(rawHeader, content);
      if (!raw) {
        this.failUnreadable(headers, isBatch ? "a batch reply" : "a reply");
        return;
      }
      for (const { id, body, meta } of raw.parts) {
        const pending = this.stillWaiting(id);
        if (pending) this.settleData(pending, { body, meta });
      }
      // What follows the raw answers: a batch's other answers, as its JSON.
      if (!isBatch || raw.rest.length === 0) return;
      content = raw.rest;
    }
    if (isBatch) {
      const replies = parseBatchReply(content);
      if (!replies) {
        this.failUnreadable(headers, "a batch reply");
        return;
      }
      for (const { id, reply } of replies) {
        const pending = this.stillWaiting(id);
        if (pending) this.settleReply(pending, reply);
      }
      return;
    }
    const id = headers?.[REQUEST_MESSAGE_ID_HEADER];
    // A plain reply to a batch is an error for the whole batch (from a server that does not know batches).
    const waiting = typeof id === "string" ? this.waitingFor(id) : [];
    const toBatch = typeof id === "string" && !this.requests.has(id);
    if (waiting.length === 0) {
      this.conn.log.debug({ requestMessageId: id }, "reply for a request no longer waiting (timed out)");
      return;
    }
    let body: RpcReply;
    try {
      body = JSON.parse(msg.content.toString("utf8")) as RpcReply;
    } catch {
      for (const pending of waiting) pending.finish(new AppError("UPSTREAM_ERROR", `service ${pending.queue} sent a reply that is not JSON`));
      return;
    }
    for (const pending of waiting) this.settleReply(pending, toBatch && body?.ok === true ? null : body);
  }

  /** The request waiting for the answer to `id`, if it still is. */
  private stillWaiting(id: string): PendingRequest | undefined {
    const pending = this.requests.get(id);
    if (!pending) this.conn.log.debug({ requestMessageId: id }, "reply for a request no longer waiting (timed out)");
    return pending;
  }

  /** Fails the requests a reply that cannot be read answers (`what`: the kind of reply, for the error). */
  private failUnreadable(headers: Record<string, unknown> | undefined, what: string): void {
    const id = headers?.[REQUEST_MESSAGE_ID_HEADER];
    for (const pending of typeof id === "string" ? this.waitingFor(id) : []) pending.finish(new AppError("UPSTREAM_ERROR", `service ${pending.queue} sent ${what} that cannot be read`));
  }

  /** An ok answer's data (a raw answer's: its body and meta), checked against the contract. */
  private settleData(pending: PendingRequest, data: unknown): void {
    const res = pending.contract.response.safeParse(data);
    if (res.success) pending.finish(null, res.data);
    else pending.finish(new AppError("UPSTREAM_ERROR", `service ${pending.queue} sent an invalid ${pending.contract.type} response`));
  }

  private settleReply(pending: PendingRequest, body: RpcReply | null): void {
    if (body && body.ok === true) {
      this.settleData(pending, body.data);
    } else if (body && body.ok === false) {
      pending.finish(AppError.fromJSON(body.error));
    } else {
      pending.finish(new AppError("UPSTREAM_ERROR", `service ${pending.queue} sent a reply that is not an answer`));
    }
  }

  async request<Q, R>(queue: string, contract: RequestContract<Q, R>, payload: Q, options?: RequestOptions): Promise<R> {
    if (this.conn.closed) throw new AppError("UNAVAILABLE", "broker is closed");
    const parsed = contract.request.safeParse(payload);
    if (!parsed.success) throw new MessageValidationError(contract.type, toValidationIssues(parsed.error));
    const ch = await this.channels.current(
      () => new AppError("UNAVAILABLE", "not connected to the broker"),
      (err) => new AppError("UNAVAILABLE", "could not open the reply channel", { cause: err }),
    );
    const timeoutMs = options?.timeoutMs ?? this.requestTimeoutMs;
    const ctx = currentContext();
    const messageId = newId("message");
    const correlationId = options?.correlationId ?? ctx?.requestId;
    const headers = { ...tenantHeaders(ctx), ...(options?.headers ?? {}) };
    const props: Options.Publish = withoutUndefined({
      messageId,
      correlationId,
      replyTo: DIRECT_REPLY_TO,
      type: contract.type,
      timestamp: amqpTimestamp(),
      contentType: "application/json",
      persistent: false,
      mandatory: true,
      // A request still queued when the caller has given up is not worth answering.
      expiration: String(timeoutMs),
      appId: this.conn.options.connectionName,
      headers,
    });

    const metrics = this.conn.options.metrics;
    const started = metrics ? performance.now() : 0;
    return new Promise<R>((resolve, reject) => {
      const timer = setTimeout(
        () => finish(new AppError("TIMEOUT", `service ${queue} did not answer ${contract.type} within ${timeoutMs} ms`)),
        timeoutMs,
      );
      const pending: PendingRequest = {
        queue,
        contract: contract as RequestContract<unknown, unknown>,
        finish: (err: Error | null, value?: unknown) => {
          if (!this.requests.delete(messageId)) return;
          clearTimeout(timer);
          if (pending.batchId) {
            const batch = this.batches.get(pending.batchId);
            batch?.delete(messageId);
            if (batch?.size === 0) this.batches.delete(pending.batchId);
          }
          metrics?.rpcClient(contract.type, err ? (err instanceof AppError ? err.code : "ERROR") : "ok", (performance.now() - started) / 1000);
          if (err) reject(err);
          else resolve(value as R);
        },
      };
      const finish = pending.finish;
      this.requests.set(messageId, pending);
      this.outgoing.push({ id: messageId, type: contract.type, correlationId, headers, dataJson: JSON.stringify(parsed.data), ch, queue, props, timeoutMs });
      this.outgoingFlush ??= setImmediate(() => this.flushRequests());
    });
  }

  /**
   * Sends the requests of this turn: per channel and queue, one alone as the plain message
   * it always was, several as batches (rpc-batch.ts). A request that timed out meanwhile
   * is not sent.
   */
  private flushRequests(): void {
    this.outgoingFlush = null;
    const all = this.outgoing;
    this.outgoing = [];
    const groups = new Map<Channel, Map<string, OutgoingRequest[]>>();
    for (const r of all) {
      if (!this.requests.has(r.id)) continue;
      let byQueue = groups.get(r.ch);
      if (!byQueue) groups.set(r.ch, (byQueue = new Map()));
      const list = byQueue.get(r.queue);
      if (list) list.push(r);
      else byQueue.set(r.queue, [r]);
    }
    for (const [ch, byQueue] of groups) {
      for (const [queue, list] of byQueue) {
        for (const chunk of chunkEntries(list)) {
          try {
            if (chunk.length === 1) ch.sendToQueue(queue, Buffer.from(chunk[0]!.dataJson), chunk[0]!.props);
            else this.sendBatch(ch, queue, chunk);
          } catch (err) {
            for (const r of chunk) this.requests.get(r.id)?.finish(new AppError("UNAVAILABLE", `service ${queue} unavailable: reply channel closed`, { cause: err }));
          }
        }
      }
    }
  }

  private sendBatch(ch: Channel, queue: string, chunk: OutgoingRequest[]): void {
    const batchId = newId("message");
    const ids = new Set<string>();
    for (const r of chunk) {
      const pending = this.requests.get(r.id);
      if (!pending) continue;
      pending.batchId = batchId;
      ids.add(r.id);
    }
    this.batches.set(batchId, ids);
    ch.sendToQueue(
      queue,
      batchRequestBody(chunk),
      withoutUndefined({
        messageId: batchId,
        replyTo: DIRECT_REPLY_TO,
        type: BATCH_REQUEST_TYPE,
        timestamp: amqpTimestamp(),
        contentType: "application/json",
        persistent: false,
        mandatory: true,
        // Unanswered after the longest wait of its requests, nobody is waiting for any of it.
        expiration: String(Math.max(...chunk.map((r) => r.timeoutMs))),
        appId: this.conn.options.connectionName,
      }),
    );
  }
}
