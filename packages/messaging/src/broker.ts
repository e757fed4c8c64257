/**
 * The Broker on amqplib with its opt-in connection recovery. amqplib reconnects with
 * backoff and calls `setup` on every fresh connection; everything that must survive a
 * reconnect (topology, the confirm channel, the RPC client channel, consumers and RPC
 * servers) is rebuilt from there.
 *
 * Two rules shape the code:
 * - a publish is never silently retried: if the channel goes before the confirm, the
 *   caller gets ConnectionLostError and decides (the outbox relay re-publishes);
 * - an ack or nack only ever goes to the channel the delivery came on. Delivery tags are
 *   per channel, so sending one on a newer channel would close that channel.
 */
import * as amqp from "amqplib";
import type { Socket } from "node:net";
import { AckBatcher } from "./ack-batcher";
import { coalesceWrites } from "./coalesce-writes";
import { BrokerEndpoints } from "./endpoints";
import type { Channel, ChannelModel, ConfirmChannel, ConsumeMessage, Message, Options, RecoveringChannelModel } from "amqplib";
import { AppError } from "@pragma/errors";
import { newId } from "@pragma/ids";
import { currentContext, runWithContext, type Logger, type RequestContext } from "@pragma/logger";
import { HEADERS, ping, type MessageContract, type RequestContract } from "@pragma/contracts";
import {
  handler as rpcHandler,
  type Broker,
  type BrokerOptions,
  type ConsumeOptions,
  type ConsumerHandle,
  type Delivery,
  type Disposition,
  type Handler,
  type HealthCheck,
  type PublishOptions,
  type QueueDepth,
  type RpcHandlers,
  type RpcServerHandle,
  type TopologyFn,
} from "./api";
import { ConnectionLostError, MessageTooLargeError, MessageValidationError, NackError, UnroutableError, toValidationIssues } from "./errors";
import {
  BATCH_REPLY_TYPE,
  BATCH_REQUEST_TYPE,
  batchReplyBody,
  batchRequestBody,
  batchRequestSchema,
  chunkEntries,
  parseBatchReply,
  type EntryParts,
  type RpcReply,
} from "./rpc-batch";

/** The pseudo-queue of RabbitMQ's direct reply-to. */
export const DIRECT_REPLY_TO = "amq.rabbitmq.reply-to";
/** Header on an RPC reply naming the request it answers. */
export const REQUEST_MESSAGE_ID_HEADER = "x-request-message-id";

const ACK: Disposition = { action: "ack" };
const DEAD_LETTER: Disposition = { action: "dead-letter" };
const REQUEUE: Disposition = { action: "requeue" };
/** Delay before re-attaching a consumer whose channel closed while the connection stayed up. */
const REATTACH_DELAY_MS = 1000;

/** One open connection; channels hang off it and die with it. */
interface Live {
  gen: number;
  model: ChannelModel;
  pub?: Promise<ConfirmChannel>;
  rpc?: Promise<Channel>;
}

interface PendingPublish {
  messageId: string;
  exchange: string;
  routingKey: string;
  returned?: { replyCode: number; replyText: string };
}

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

/** What processing a delivery decided: how to settle it, and for a request the reply to send first. */
interface Outcome {
  disposition: Disposition;
  reply?: { to: string; body: RpcReply; properties: Options.Publish };
}

interface ConsumerState {
  queue: string;
  label: string;
  prefetch: number;
  consumeOptions: Options.Consume;
  /** `ch` is the channel the delivery came on (a batch of requests answers on it as it goes). */
  process(msg: ConsumeMessage, ch: Channel): Promise<Outcome>;
  channel: Channel | null;
  /** Batches the acks of `channel`'s deliveries. */
  acks: AckBatcher | null;
  consumerTag: string | null;
  /** Generation of the connection this consumer was last attached on (-1: needs attaching). */
  attachedGen: number;
  inFlight: Set<Promise<void>>;
  cancelled: boolean;
  reattachTimer: NodeJS.Timeout | null;
}

export function isPermanentError(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { permanent?: unknown }).permanent === true;
}

/** x-delivery-count as set by quorum queues; absent on first delivery and on classic queues. */
export function deliveryCountOf(headers: Record<string, unknown> | undefined): number {
  const raw = headers?.["x-delivery-count"];
  const n = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : typeof raw === "bigint" ? Number(raw) : 0;
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** The request context a delivery runs in: its correlation id and tenant headers. */
export function contextFromProperties(props: { correlationId?: unknown; messageId?: unknown; headers?: Record<string, unknown> | undefined }): RequestContext {
  const str = (v: unknown) => (typeof v === "string" && v.length > 0 ? v : undefined);
  const h = props.headers ?? {};
  const ctx: RequestContext = { requestId: str(props.correlationId) ?? str(props.messageId) ?? newId("request") };
  const orgId = str(h[HEADERS.orgId]);
  const projectId = str(h[HEADERS.projectId]);
  const spaceId = str(h[HEADERS.spaceId]);
  if (orgId) ctx.orgId = orgId;
  if (projectId) ctx.projectId = projectId;
  if (spaceId) ctx.spaceId = spaceId;
  return ctx;
}

/** Tenant ids from the current request context, as headers (explicit headers win). */
export function tenantHeaders(ctx: RequestContext | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (ctx?.orgId) out[HEADERS.orgId] = ctx.orgId;
  if (ctx?.projectId) out[HEADERS.projectId] = ctx.projectId;
  if (ctx?.spaceId) out[HEADERS.spaceId] = ctx.spaceId;
  return out;
}

function withoutUndefined<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

export async function connectBroker(options: BrokerOptions): Promise<Broker> {
  const broker = new AmqpBroker(options);
  await broker.start();
  return broker;
}

class AmqpBroker implements Broker {
  private readonly log: Logger;
  private readonly window: number;
  private readonly requestTimeoutMs: number;
  private readonly closeTimeoutMs: number;
  private readonly version: string;

  private conn: RecoveringChannelModel | null = null;
  private live: Live | null = null;
  private gen = 0;
  private readonly closedChannels = new WeakSet<Channel>();

  private readonly topologies: TopologyFn[] = [];
  private readonly consumers = new Set<ConsumerState>();

  private inFlight = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private drain: Promise<void> | null = null;
  private readonly pendingPublishes = new Map<string, PendingPublish[]>();

  private readonly requests = new Map<string, PendingRequest>();
  /** Requests not yet sent: they go at the end of this turn of the event loop (flushRequests). */
  private outgoing: OutgoingRequest[] = [];
  private outgoingFlush: NodeJS.Immediate | null = null;
  /** Batch message id → the ids of its requests still waiting, for a return or an error answered to the whole batch. */
  private readonly batches = new Map<string, Set<string>>();

  /** close() has begun: no new consumers, nothing re-attached. */
  private closing = false;
  /** Consumers are drained: no new publishes or requests. */
  private closed = false;
  private closePromise: Promise<void> | null = null;

  constructor(private readonly options: BrokerOptions) {
    this.log = options.logger.child({ component: "messaging", connection: options.connectionName });
    this.window = Math.max(1, options.publishWindow ?? 1000);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 10_000;
    this.closeTimeoutMs = options.closeTimeoutMs ?? 10_000;
    const bound = (options.logger.bindings?.() ?? {}) as { version?: unknown };
    this.version = options.version ?? (typeof bound.version === "string" ? bound.version : "0.0.0");
  }

  async start(): Promise<void> {
    const r = this.options.reconnect ?? {};
    // One URL: amqplib's own string form, as always. Several: a view that moves to the
    // next node after every failed attempt or lost connection (endpoints.ts).
    const endpoints = new BrokerEndpoints(this.options.url);
    const target = endpoints.size > 1 ? endpoints.connectTarget() : this.options.url;
    const conn = await amqp.connect(target, {
      clientProperties: { connection_name: this.options.connectionName },
      // amqplib leaves Nagle's algorithm on by default: small frames (an RPC reply, a
      // confirm-awaited publish) then wait for the peer's delayed ACK, tens of ms each.
      noDelay: true,
      recovery: {
        initialDelay: r.initialDelayMs ?? 100,
        // Several nodes: retry within a second. While a lost node's transient queues are
        // being cleaned up the declarations fail for a few seconds, and a 5 s backoff built
        // up meanwhile was most of the pause clients saw on the 3-node run (bench README).
        maxDelay: r.maxDelayMs ?? (endpoints.size > 1 ? 1000 : 5000),
        initialMaxRetries: r.initialMaxRetries ?? 10,
        maxRetries: Infinity,
        // Listeners must exist before the first attempt: an 'error' with no listener throws.
        waitForConnect: false,
        setup: (model: ChannelModel) => this.setup(model),
      },
    });
    this.conn = conn;
    conn.on("error", (err: Error) => this.log.warn({ err }, "broker connection error"));
    conn.on("handler-error", (err: Error, event: string) => this.log.error({ err, event }, "error thrown in a broker connection listener"));
    // Listeners run before amqplib schedules the next attempt, so that attempt already goes to the next node.
    conn.on("disconnect", (err: Error) => {
      const from = endpoints.current.label;
      const to = endpoints.size > 1 ? endpoints.next() : from;
      this.log.warn({ err: { message: err.message }, node: from, next: to }, "broker connection lost");
    });
    conn.on("connect-failed", (err: Error) => {
      const from = endpoints.current.label;
      const to = endpoints.size > 1 ? endpoints.next() : from;
      this.log.warn({ err: { message: err.message }, node: from, next: to }, "broker connection attempt failed");
    });
    conn.on("connect", () => this.log.info({ node: endpoints.current.label }, "broker connected"));
    conn.on("reconnect-scheduled", (info: { attempt: number; delay: number }) =>
      this.log.info({ attempt: info.attempt, delayMs: info.delay }, "broker reconnect scheduled"),
    );
    conn.on("reconnect-failed", (err: Error) => this.log.error({ err }, "broker reconnect abandoned"));
    conn.on("blocked", (reason: string) => this.log.warn({ reason }, "broker blocked publishing (resource alarm)"));
    conn.on("unblocked", () => this.log.info({}, "broker unblocked publishing"));
    try {
      await conn.waitForConnect();
    } catch (err) {
      throw new ConnectionLostError(`could not connect to the broker: ${(err as Error).message}`, { cause: err });
    }
  }

  // ---- connection lifecycle -------------------------------------------------------

  /** Runs on every fresh connection, before amqplib reports it connected. A throw makes amqplib drop it and retry. */
  private async setup(model: ChannelModel): Promise<void> {
    const live: Live = { gen: ++this.gen, model };
    coalesceWrites((model as unknown as { connection?: { stream?: Socket } }).connection?.stream);
    model.on("error", (err: Error) => this.log.warn({ err: { message: err.message } }, "broker connection error"));
    model.on("close", () => this.onConnectionLost(live));

    for (const fn of [...this.topologies]) {
      try {
        await this.runTopology(model, fn);
      } catch (err) {
        this.log.error({ err }, "topology declaration failed; dropping this connection to retry");
        throw err;
      }
    }
    live.pub = this.openPublishChannel(live);
    live.rpc = this.openRpcChannel(live);
    await Promise.all([live.pub, live.rpc]);

    this.live = live;
    if (this.gen > 1) this.log.info({ consumers: this.consumers.size }, "broker reconnected; re-attaching consumers");
    await Promise.all(
      [...this.consumers].map((s) =>
        this.attach(s, live).catch((err) => {
          this.log.error({ err, queue: s.queue }, "could not re-attach consumer; will retry");
          this.scheduleReattach(s);
        }),
      ),
    );
  }

  private onConnectionLost(live: Live): void {
    if (this.live === live) this.live = null;
    // Direct reply-to replies can only arrive on the channel that sent the request.
    this.failRequests(new AppError("UNAVAILABLE", "connection to the broker lost before the reply"));
  }

  private async runTopology(model: ChannelModel, fn: TopologyFn): Promise<void> {
    // A failed declaration closes its channel, so each run gets its own (and more on request).
    const opened: Channel[] = [];
    const open = async () => {
      const ch = await model.createChannel();
      this.track(ch, "topology");
      opened.push(ch);
      return ch;
    };
    try {
      await fn(await open(), open);
    } finally {
      for (const ch of opened) if (!this.closedChannels.has(ch)) await ch.close().catch(() => undefined);
    }
  }

  /** Every registered topology again on the open connection (a queue deleted under a live connection comes back). */
  private async redeclare(live: Live): Promise<void> {
    for (const fn of [...this.topologies]) await this.runTopology(live.model, fn);
  }

  private track(ch: Channel, label: string): void {
    ch.on("close", () => this.closedChannels.add(ch));
    ch.on("error", (err: Error) => this.log.warn({ err: { message: err.message }, channel: label }, "broker channel error"));
    ch.on("handler-error", (err: Error, event: string) => this.log.error({ err, event, channel: label }, "error thrown in a broker channel listener"));
  }

  isConnected(): boolean {
    return this.live !== null && !this.closed;
  }

  inFlightPublishes(): number {
    return this.inFlight;
  }

  async addTopology(fn: TopologyFn): Promise<void> {
    const live = this.live;
    if (!live) {
      // Runs on the next connection's setup.
      this.topologies.push(fn);
      return;
    }
    // Only keep functions that work: a broken one would fail every reconnect.
    await this.runTopology(live.model, fn);
    this.topologies.push(fn);
  }

  // ---- publish ----------------------------------------------------------------------

  private async openPublishChannel(live: Live): Promise<ConfirmChannel> {
    const ch = await live.model.createConfirmChannel();
    this.track(ch, "publish");
    // The broker sends basic.return before the ack of the same message, so mark it here and reject when the ack arrives.
    ch.on("return", (msg: Message) => {
      const id = msg.properties.messageId as string | undefined;
      const pending = id ? this.pendingPublishes.get(id)?.find((p) => !p.returned) : undefined;
      const fields = msg.fields as unknown as { replyCode?: number; replyText?: string };
      if (pending) pending.returned = { replyCode: fields.replyCode ?? 312, replyText: fields.replyText ?? "NO_ROUTE" };
    });
    ch.on("close", () => {
      if (live.pub && this.live === live) {
        // The connection is still up (e.g. a publish to a missing exchange closed the channel): open a new one on demand.
        live.pub = undefined;
      }
    });
    return ch;
  }

  private publishChannel(): Promise<ConfirmChannel> {
    const live = this.live;
    if (!live) return Promise.reject(new ConnectionLostError("not connected to the broker"));
    if (!live.pub) {
      live.pub = this.openPublishChannel(live);
      live.pub.catch(() => {
        live.pub = undefined;
      });
    }
    return live.pub.catch((err) => {
      throw new ConnectionLostError("could not open the publish channel", { cause: err });
    });
  }

  private async acquireSlot(): Promise<void> {
    while (this.inFlight >= this.window || this.drain) {
      if (this.drain) await this.drain;
      else await new Promise<void>((resolve) => this.slotWaiters.push(resolve));
    }
    this.inFlight += 1;
  }

  private releaseSlot(): void {
    this.inFlight -= 1;
    this.slotWaiters.shift()?.();
    if (this.inFlight === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  private waitForDrain(ch: Channel): void {
    if (this.drain) return;
    this.drain = new Promise<void>((resolve) => {
      const done = () => {
        ch.removeListener("drain", done);
        ch.removeListener("close", done);
        this.drain = null;
        // Waiters parked on a full window may be waiting on drain alone.
        for (const w of this.slotWaiters.splice(0)) w();
        resolve();
      };
      ch.on("drain", done);
      ch.on("close", done);
    });
  }

  async publish<T>(contract: MessageContract<T>, payload: T, options: PublishOptions): Promise<void> {
    if (this.closed) throw new ConnectionLostError("broker is closed");
    const parsed = contract.schema.safeParse(payload);
    if (!parsed.success) throw new MessageValidationError(contract.type, toValidationIssues(parsed.error));
    const body = Buffer.from(JSON.stringify(parsed.data));
    if (options.maxBytes !== undefined && body.length > options.maxBytes) throw new MessageTooLargeError(contract.type, body.length, options.maxBytes);
    const ctx = currentContext();
    const messageId = options.messageId ?? newId("message");
    const props: Options.Publish = withoutUndefined({
      messageId,
      correlationId: options.correlationId ?? ctx?.requestId,
      type: contract.type,
      timestamp: Math.floor(Date.now() / 1000),
      contentType: "application/json",
      persistent: options.persistent ?? true,
      mandatory: options.mandatory ?? true,
      appId: this.options.connectionName,
      expiration: options.expiration,
      headers: { ...tenantHeaders(ctx), ...(options.headers ?? {}) },
    });

    await this.acquireSlot();
    let ch: ConfirmChannel;
    try {
      if (this.closed) throw new ConnectionLostError("broker is closed");
      ch = await this.publishChannel();
    } catch (err) {
      this.releaseSlot();
      throw err;
    }

    return new Promise<void>((resolve, reject) => {
      const pending: PendingPublish = { messageId, exchange: options.exchange, routingKey: options.routingKey };
      let settled = false;
      const settle = (err: Error | null) => {
        if (settled) return;
        settled = true;
        const list = this.pendingPublishes.get(messageId);
        if (list) {
          const i = list.indexOf(pending);
          if (i >= 0) list.splice(i, 1);
          if (list.length === 0) this.pendingPublishes.delete(messageId);
        }
        this.releaseSlot();
        if (err) reject(err);
        else resolve();
      };
      const list = this.pendingPublishes.get(messageId);
      if (list) list.push(pending);
      else this.pendingPublishes.set(messageId, [pending]);

      try {
        const ok = ch.publish(options.exchange, options.routingKey, body, props, (err: unknown) => {
          if (!err) {
            if (pending.returned) settle(new UnroutableError({ exchange: pending.exchange, routingKey: pending.routingKey, messageId, ...pending.returned }));
            else settle(null);
          } else if ((err as Error).message === "message nacked") {
            settle(new NackError(messageId));
          } else {
            settle(new ConnectionLostError(undefined, { cause: err }));
          }
        });
        if (!ok) this.waitForDrain(ch);
      } catch (err) {
        // A closed or closing channel throws synchronously; anything else (an oversized header table) is the caller's.
        if (err instanceof amqp.IllegalOperationError) settle(new ConnectionLostError("publish channel closed", { cause: err }));
        else settle(err as Error);
      }
    });
  }

  // ---- consume ----------------------------------------------------------------------

  async consume<T>(
    queue: string,
    contracts: MessageContract<T> | MessageContract<T>[],
    handle: Handler<T>,
    options: ConsumeOptions,
  ): Promise<ConsumerHandle> {
    const byType = new Map<string, MessageContract<T>>();
    for (const c of Array.isArray(contracts) ? contracts : [contracts]) byType.set(c.type, c);
    return this.register(queue, `consumer ${queue}`, options.prefetch, options.consumeOptions ?? {}, async (msg) => ({
      disposition: await this.processMessage(queue, byType, handle, msg),
    }));
  }

  private processMessage<T>(queue: string, byType: Map<string, MessageContract<T>>, handle: Handler<T>, msg: ConsumeMessage): Promise<Disposition> {
    const props = msg.properties;
    const headers = (props.headers ?? {}) as Record<string, unknown>;
    const ctx = contextFromProperties({ correlationId: props.correlationId, messageId: props.messageId, headers });
    return runWithContext(ctx, async (): Promise<Disposition> => {
      const type = typeof props.type === "string" ? props.type : "";
      const meta = { queue, type, messageId: props.messageId as unknown };
      const contract = byType.get(type);
      if (!contract) {
        this.log.error(meta, "dead-lettering message of unknown type");
        return DEAD_LETTER;
      }
      let body: unknown;
      try {
        body = JSON.parse(msg.content.toString("utf8"));
      } catch {
        this.log.error(meta, "dead-lettering message whose body is not JSON");
        return DEAD_LETTER;
      }
      const parsed = contract.schema.safeParse(body);
      if (!parsed.success) {
        this.log.error({ ...meta, issues: toValidationIssues(parsed.error) }, "dead-lettering message that fails its contract");
        return DEAD_LETTER;
      }
      const delivery: Delivery<T> = {
        payload: parsed.data,
        type,
        messageId: typeof props.messageId === "string" ? props.messageId : "",
        correlationId: typeof props.correlationId === "string" ? props.correlationId : undefined,
        headers,
        redelivered: msg.fields.redelivered,
        deliveryCount: deliveryCountOf(headers),
        raw: msg,
      };
      try {
        return (await handle(delivery)) ?? ACK;
      } catch (err) {
        if (isPermanentError(err)) {
          this.log.warn({ ...meta, err }, "handler failed permanently; dead-lettering");
          return DEAD_LETTER;
        }
        this.log.warn({ ...meta, err, deliveryCount: delivery.deliveryCount }, "handler failed; requeueing");
        return REQUEUE;
      }
    });
  }

  private async register(
    queue: string,
    label: string,
    prefetch: number,
    consumeOptions: Options.Consume,
    process: (msg: ConsumeMessage, ch: Channel) => Promise<Outcome>,
  ): Promise<ConsumerHandle> {
    if (this.closing) throw new ConnectionLostError("broker is closing");
    const state: ConsumerState = {
      queue,
      label,
      prefetch,
      consumeOptions,
      process,
      channel: null,
      acks: null,
      consumerTag: null,
      attachedGen: -1,
      inFlight: new Set(),
      cancelled: false,
      reattachTimer: null,
    };
    this.consumers.add(state);
    const live = this.live;
    if (live) {
      try {
        await this.attach(state, live);
      } catch (err) {
        // Most likely the queue does not exist: tell the caller now rather than retrying forever.
        this.consumers.delete(state);
        state.cancelled = true;
        throw err;
      }
    }
    return { cancel: () => this.cancelConsumer(state, Date.now() + this.closeTimeoutMs) };
  }

  private async attach(state: ConsumerState, live: Live): Promise<void> {
    if (state.cancelled || this.closing || state.attachedGen === live.gen) return;
    state.attachedGen = live.gen;
    let ch: Channel | undefined;
    try {
      ch = await live.model.createChannel();
      const channel = ch;
      this.track(channel, state.label);
      channel.on("close", () => {
        if (state.channel !== channel) return;
        state.acks?.discard();
        state.channel = null;
        state.acks = null;
        state.consumerTag = null;
        state.attachedGen = -1;
        // Connection still up: only this channel died (e.g. a double ack from a handler); come back on a new one.
        if (this.live === live) this.scheduleReattach(state);
      });
      await channel.prefetch(state.prefetch);
      const acks = new AckBatcher(channel);
      state.channel = channel;
      state.acks = acks;
      const { consumerTag } = await channel.consume(state.queue, (msg) => this.onDelivery(state, channel, acks, msg), { ...state.consumeOptions, noAck: false });
      state.consumerTag = consumerTag;
      if (state.cancelled) await channel.cancel(consumerTag).catch(() => undefined);
    } catch (err) {
      if (state.attachedGen === live.gen) state.attachedGen = -1;
      if (ch && state.channel === ch) state.channel = null;
      if (ch && !this.closedChannels.has(ch)) await ch.close().catch(() => undefined);
      throw err;
    }
  }

  private scheduleReattach(state: ConsumerState): void {
    if (state.cancelled || this.closing || state.reattachTimer) return;
    state.reattachTimer = setTimeout(() => {
      state.reattachTimer = null;
      const live = this.live;
      // Not connected: the next setup attaches every consumer anyway.
      if (!live) return;
      // The queue may be gone, not just the channel: in a cluster, a transient queue (the
      // RPC queues) is deleted with the node that hosted it while this connection, on
      // another node, stays up. Declaring the topology again recreates it here.
      // Best effort: a declaration that fails for another queue must not keep this consumer off its own.
      this.redeclare(live)
        .catch((err) => this.log.warn({ err, queue: state.queue }, "topology declaration failed before re-attaching a consumer"))
        .then(() => this.attach(state, live))
        .catch((err) => {
          this.log.error({ err, queue: state.queue }, "could not re-attach consumer; will retry");
          this.scheduleReattach(state);
        });
    }, REATTACH_DELAY_MS);
    state.reattachTimer.unref();
  }

  private onDelivery(state: ConsumerState, ch: Channel, acks: AckBatcher, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled us (queue deleted, or a quorum queue leader moved).
      this.log.warn({ queue: state.queue }, "consumer cancelled by the broker");
      if (state.channel === ch) {
        try {
          acks.flush();
        } catch {
          // Channel already closing: the broker requeues what it did not see acked.
        }
        state.channel = null;
        state.acks = null;
        state.consumerTag = null;
        state.attachedGen = -1;
        ch.close().catch(() => undefined);
        this.scheduleReattach(state);
      }
      return;
    }
    acks.delivered(msg.fields.deliveryTag);
    const p = state
      .process(msg, ch)
      .catch((err: unknown): Outcome => {
        this.log.error({ err, queue: state.queue }, "message processing failed unexpectedly; requeueing");
        return { disposition: REQUEUE };
      })
      .then((o) => this.settle(state, ch, acks, msg, o));
    state.inFlight.add(p);
    void p.finally(() => state.inFlight.delete(p));
  }

  private settle(state: ConsumerState, ch: Channel, acks: AckBatcher, msg: ConsumeMessage, outcome: Outcome): void {
    const d = outcome.disposition;
    if (this.closedChannels.has(ch) || state.channel !== ch) {
      // The broker has already requeued it (a request is answered on redelivery); its tag means nothing on any other channel.
      this.log.debug({ queue: state.queue, deliveryTag: msg.fields.deliveryTag, action: d.action }, "dropping ack/nack for a delivery from a closed channel");
      return;
    }
    try {
      if (outcome.reply) ch.sendToQueue(outcome.reply.to, Buffer.from(JSON.stringify(outcome.reply.body)), outcome.reply.properties);
      const tag = msg.fields.deliveryTag;
      if (d.action === "ack") acks.ack(tag);
      else acks.nack(tag, d.action !== "dead-letter");
    } catch (err) {
      this.log.debug({ err, queue: state.queue, deliveryTag: msg.fields.deliveryTag }, "dropping ack/nack: channel closing");
    }
  }

  private async cancelConsumer(state: ConsumerState, deadline: number): Promise<void> {
    if (!this.consumers.has(state) && state.cancelled && state.inFlight.size === 0) return;
    state.cancelled = true;
    this.consumers.delete(state);
    if (state.reattachTimer) {
      clearTimeout(state.reattachTimer);
      state.reattachTimer = null;
    }
    const ch = state.channel;
    if (ch && state.consumerTag && !this.closedChannels.has(ch)) await ch.cancel(state.consumerTag).catch(() => undefined);
    // Deliveries already on the wire before cancel-ok still arrive and join inFlight.
    while (state.inFlight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...state.inFlight]), sleep(deadline - Date.now())]);
    }
    if (state.inFlight.size > 0) this.log.warn({ queue: state.queue, inFlight: state.inFlight.size }, "handlers still running at close; their messages will be redelivered");
    const acks = state.acks;
    state.channel = null;
    state.acks = null;
    if (ch && !this.closedChannels.has(ch)) {
      try {
        acks?.flush();
      } catch (err) {
        this.log.debug({ err, queue: state.queue }, "could not send the last acks: channel closing");
      }
      await ch.close().catch(() => undefined);
    }
  }

  // ---- RPC server -------------------------------------------------------------------

  async serve(queue: string, handlers: RpcHandlers, options?: { prefetch?: number; health?: HealthCheck }): Promise<RpcServerHandle> {
    const byType = new Map<string, RpcHandlers[string]>();
    for (const h of Object.values(handlers)) byType.set(h.contract.type, h);
    if (!byType.has(ping.type)) {
      const health = options?.health;
      // ok: this service answers; its own dependencies (its database) are named in checks.
      byType.set(
        ping.type,
        rpcHandler(ping, async () => ({ service: this.options.connectionName, version: this.version, ok: true, ...(health ? { checks: await health() } : {}) })),
      );
    }
    return this.register(queue, `rpc ${queue}`, options?.prefetch ?? 16, {}, (msg, ch) =>
      msg.properties.type === BATCH_REQUEST_TYPE ? this.processBatch(queue, byType, msg, ch) : this.processRequest(queue, byType, msg),
    );
  }

  /** Always acks: the answer, good or bad, goes back to the caller rather than to a dead-letter queue it cannot see. */
  private processRequest(queue: string, byType: Map<string, RpcHandlers[string]>, msg: ConsumeMessage): Promise<Outcome> {
    const props = msg.properties;
    const headers = (props.headers ?? {}) as Record<string, unknown>;
    const ctx = contextFromProperties({ correlationId: props.correlationId, messageId: props.messageId, headers });
    return runWithContext(ctx, async (): Promise<Outcome> => {
      const type = typeof props.type === "string" ? props.type : "";
      const meta = { queue, type, messageId: props.messageId as unknown };
      const correlationId = typeof props.correlationId === "string" ? props.correlationId : undefined;
      const body = await this.answer(byType, type, () => JSON.parse(msg.content.toString("utf8")), correlationId, headers, meta);
      return this.replyOutcome(msg, type, body);
    });
  }

  /** Acks, with `body` as the reply to `msg` if it says where to. */
  private replyOutcome(msg: ConsumeMessage, type: string, body: RpcReply): Outcome {
    const props = msg.properties;
    const replyTo = props.replyTo as string | undefined;
    if (!replyTo) {
      this.log.warn({ type, messageId: props.messageId as unknown }, "request without replyTo; nobody to answer");
      return { disposition: ACK };
    }
    return { disposition: ACK, reply: { to: replyTo, body, properties: this.replyProperties(type, props.correlationId, props.messageId) } };
  }

  private replyProperties(type: string, correlationId: unknown, requestMessageId: unknown): Options.Publish {
    return withoutUndefined({
      messageId: newId("message"),
      correlationId: typeof correlationId === "string" ? correlationId : undefined,
      type,
      timestamp: Math.floor(Date.now() / 1000),
      contentType: "application/json",
      appId: this.options.connectionName,
      headers: { [REQUEST_MESSAGE_ID_HEADER]: typeof requestMessageId === "string" ? requestMessageId : undefined },
    });
  }

  /**
   * A batch of requests (rpc-batch.ts): each runs in its own request context, as it would
   * have alone, all at once; answers go back on the delivery's channel as they are ready,
   * those ready in the same turn together. Acked once every request is answered.
   */
  private async processBatch(queue: string, byType: Map<string, RpcHandlers[string]>, msg: ConsumeMessage, ch: Channel): Promise<Outcome> {
    let body: unknown;
    try {
      body = JSON.parse(msg.content.toString("utf8"));
    } catch {
      return this.replyOutcome(msg, BATCH_REQUEST_TYPE, { ok: false, error: new AppError("BAD_REQUEST", "request body is not JSON").toJSON() });
    }
    const batch = batchRequestSchema.safeParse(body);
    if (!batch.success) {
      this.log.warn({ queue, messageId: msg.properties.messageId as unknown }, "batch of requests that fails its envelope");
      return this.replyOutcome(msg, BATCH_REQUEST_TYPE, { ok: false, error: new AppError("VALIDATION_FAILED", toValidationIssues(batch.error)).toJSON() });
    }
    const replyTo = msg.properties.replyTo as string | undefined;
    const ready: { id: string; reply: RpcReply }[] = [];
    let scheduled: NodeJS.Immediate | null = null;
    const send = () => {
      scheduled = null;
      if (ready.length === 0 || !replyTo) return;
      const replies = ready.splice(0);
      // A closed channel: the broker redelivers the batch, and it is answered then.
      if (this.closedChannels.has(ch)) return;
      try {
        ch.sendToQueue(replyTo, batchReplyBody(replies), this.replyProperties(BATCH_REPLY_TYPE, undefined, msg.properties.messageId));
      } catch (err) {
        this.log.debug({ err, queue }, "dropping batch replies: channel closing");
      }
    };
    if (!replyTo) this.log.warn({ queue, messageId: msg.properties.messageId as unknown }, "batch of requests without replyTo; nobody to answer");
    await Promise.all(
      batch.data.requests.map((e) => {
        const ctx = contextFromProperties({ correlationId: e.correlationId, messageId: e.id, headers: e.headers });
        return runWithContext(ctx, async () => {
          const reply = await this.answer(byType, e.type, () => e.data, e.correlationId, e.headers, { queue, type: e.type, messageId: e.id });
          ready.push({ id: e.id, reply });
          scheduled ??= setImmediate(send);
        });
      }),
    );
    if (scheduled) clearImmediate(scheduled);
    send();
    return { disposition: ACK };
  }

  /** `readBody` gives the request body, throwing if it is not JSON. Timed for BrokerOptions.metrics. */
  private async answer(
    byType: Map<string, RpcHandlers[string]>,
    type: string,
    readBody: () => unknown,
    correlationId: string | undefined,
    headers: Record<string, unknown>,
    meta: Record<string, unknown>,
  ): Promise<RpcReply> {
    const metrics = this.options.metrics;
    if (!metrics) return this.answerUntimed(byType, type, readBody, correlationId, headers, meta);
    const started = performance.now();
    const reply = await this.answerUntimed(byType, type, readBody, correlationId, headers, meta);
    metrics.rpcServer(byType.has(type) ? type : "unknown", reply.ok ? "ok" : reply.error.code, (performance.now() - started) / 1000);
    return reply;
  }

  private async answerUntimed(
    byType: Map<string, RpcHandlers[string]>,
    type: string,
    readBody: () => unknown,
    correlationId: string | undefined,
    headers: Record<string, unknown>,
    meta: Record<string, unknown>,
  ): Promise<RpcReply> {
    const fail = (err: AppError): RpcReply => ({ ok: false, error: err.toJSON() });
    const h = byType.get(type);
    if (!h) {
      this.log.warn(meta, "request of unknown type");
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
        this.log.info({ ...meta, code: err.code }, "request answered with an error");
        return fail(err);
      }
      this.log.error({ ...meta, err }, "request handler failed");
      return fail(new AppError("INTERNAL", "Internal server error"));
    }
    const res = h.contract.response.safeParse(data);
    if (!res.success) {
      this.log.error({ ...meta, issues: toValidationIssues(res.error) }, "request handler returned a response that fails its contract");
      return fail(new AppError("INTERNAL", "Internal server error"));
    }
    return { ok: true, data: res.data };
  }

  // ---- RPC client -------------------------------------------------------------------

  private async openRpcChannel(live: Live): Promise<Channel> {
    const ch = await live.model.createChannel();
    this.track(ch, "rpc-client");
    ch.on("return", (msg: Message) => {
      const id = msg.properties.messageId as string | undefined;
      for (const pending of id ? this.waitingFor(id) : []) pending.finish(new AppError("UNAVAILABLE", `service ${pending.queue} unavailable`));
    });
    ch.on("close", () => {
      if (live.rpc && this.live === live) live.rpc = undefined;
      this.failRequests(new AppError("UNAVAILABLE", "reply channel closed before the reply"));
    });
    // Direct reply-to: the consumer must be on the channel that publishes the requests, with noAck.
    await ch.consume(DIRECT_REPLY_TO, (msg) => msg && this.onReply(msg), { noAck: true });
    return ch;
  }

  private rpcChannel(): Promise<Channel> {
    const live = this.live;
    if (!live) return Promise.reject(new AppError("UNAVAILABLE", "not connected to the broker"));
    if (!live.rpc) {
      live.rpc = this.openRpcChannel(live);
      live.rpc.catch(() => {
        live.rpc = undefined;
      });
    }
    return live.rpc.catch((err) => {
      throw new AppError("UNAVAILABLE", "could not open the reply channel", { cause: err });
    });
  }

  private failRequests(err: AppError): void {
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
    if (msg.properties.type === BATCH_REPLY_TYPE) {
      const replies = parseBatchReply(msg.content);
      if (!replies) {
        const id = (msg.properties.headers as Record<string, unknown> | undefined)?.[REQUEST_MESSAGE_ID_HEADER];
        for (const pending of typeof id === "string" ? this.waitingFor(id) : []) pending.finish(new AppError("UPSTREAM_ERROR", `service ${pending.queue} sent a batch reply that cannot be read`));
        return;
      }
      for (const { id, reply } of replies) {
        const pending = this.requests.get(id);
        if (pending) this.settleReply(pending, reply);
        else this.log.debug({ requestMessageId: id }, "reply for a request no longer waiting (timed out)");
      }
      return;
    }
    const id = (msg.properties.headers as Record<string, unknown> | undefined)?.[REQUEST_MESSAGE_ID_HEADER];
    // A plain reply to a batch is an error for the whole batch (from a server that does not know batches).
    const waiting = typeof id === "string" ? this.waitingFor(id) : [];
    const toBatch = typeof id === "string" && !this.requests.has(id);
    if (waiting.length === 0) {
      this.log.debug({ requestMessageId: id }, "reply for a request no longer waiting (timed out)");
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

  private settleReply(pending: PendingRequest, body: RpcReply | null): void {
    if (body && body.ok === true) {
      const res = pending.contract.response.safeParse(body.data);
      if (res.success) pending.finish(null, res.data);
      else pending.finish(new AppError("UPSTREAM_ERROR", `service ${pending.queue} sent an invalid ${pending.contract.type} response`));
    } else if (body && body.ok === false) {
      pending.finish(AppError.fromJSON(body.error));
    } else {
      pending.finish(new AppError("UPSTREAM_ERROR", `service ${pending.queue} sent a reply that is not an answer`));
    }
  }

  async request<Q, R>(
    queue: string,
    contract: RequestContract<Q, R>,
    payload: Q,
    options?: { timeoutMs?: number; correlationId?: string; headers?: Record<string, unknown> },
  ): Promise<R> {
    if (this.closed) throw new AppError("UNAVAILABLE", "broker is closed");
    const parsed = contract.request.safeParse(payload);
    if (!parsed.success) throw new MessageValidationError(contract.type, toValidationIssues(parsed.error));
    const ch = await this.rpcChannel();
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
      timestamp: Math.floor(Date.now() / 1000),
      contentType: "application/json",
      persistent: false,
      mandatory: true,
      // A request still queued when the caller has given up is not worth answering.
      expiration: String(timeoutMs),
      appId: this.options.connectionName,
      headers,
    });

    const metrics = this.options.metrics;
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
        timestamp: Math.floor(Date.now() / 1000),
        contentType: "application/json",
        persistent: false,
        mandatory: true,
        // Unanswered after the longest wait of its requests, nobody is waiting for any of it.
        expiration: String(Math.max(...chunk.map((r) => r.timeoutMs))),
        appId: this.options.connectionName,
      }),
    );
  }

  // ---- queue depths -----------------------------------------------------------------

  async queueDepths(queues: string[]): Promise<QueueDepth[]> {
    const live = this.live;
    if (!live || this.closed) throw new ConnectionLostError("not connected to the broker");
    const out: QueueDepth[] = [];
    // A passive declare of a missing queue closes its channel: the next queue gets a new one.
    let ch: Channel | undefined;
    try {
      for (const queue of queues) {
        if (!ch) {
          const created = await live.model.createChannel();
          // A missing queue is expected here (left out of the answer), not worth a warning.
          created.on("error", () => undefined);
          created.on("close", () => this.closedChannels.add(created));
          ch = created;
        }
        try {
          const q = await ch.checkQueue(queue);
          out.push({ queue, messages: q.messageCount, consumers: q.consumerCount });
        } catch {
          ch = undefined;
        }
      }
    } finally {
      if (ch && !this.closedChannels.has(ch)) await ch.close().catch(() => undefined);
    }
    return out;
  }

  // ---- close ------------------------------------------------------------------------

  close(): Promise<void> {
    this.closePromise ??= this.doClose();
    return this.closePromise;
  }

  private async doClose(): Promise<void> {
    this.closing = true;
    const deadline = Date.now() + this.closeTimeoutMs;
    // Handlers may still publish results, so publishing stays open until they are done.
    await Promise.all([...this.consumers].map((s) => this.cancelConsumer(s, deadline)));
    this.closed = true;
    const confirmDeadline = Date.now() + this.closeTimeoutMs;
    while (this.inFlight > 0 && Date.now() < confirmDeadline) {
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), sleep(confirmDeadline - Date.now())]);
    }
    if (this.inFlight > 0) this.log.warn({ inFlight: this.inFlight }, "closing with unconfirmed publishes; they will fail with ConnectionLostError");
    this.failRequests(new AppError("UNAVAILABLE", "broker closed before the reply"));
    const live = this.live;
    this.live = null;
    if (live) {
      for (const p of [live.pub, live.rpc]) {
        const ch = await p?.catch(() => undefined);
        if (ch && !this.closedChannels.has(ch)) await ch.close().catch(() => undefined);
      }
    }
    await this.conn?.close().catch((err: unknown) => this.log.warn({ err }, "error closing the broker connection"));
    this.log.info({}, "broker connection closed");
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)).unref());
}
