/**
 * The public surface of @pragma/messaging. Services code against this; broker.ts
 * implements it on amqplib (with amqplib's own connection recovery). No amqplib type
 * appears here: what callers see of a channel or a delivery is declared below.
 */
import type { Logger } from "@pragma/logger";
import type { MessageContract, RequestContract } from "@pragma/contracts";

export interface BrokerOptions {
  url: string;
  logger: Logger;
  /** Shown in the broker's connection list (connection_name client property). */
  connectionName: string;
  /** Max unconfirmed publishes on the confirm channel; publish() waits for room. Default 1000. */
  publishWindow?: number;
  /**
   * Reconnect backoff (exponential with jitter). initialMaxRetries bounds the attempts
   * before the first connection (default 10, about 25 s: a service that cannot reach
   * the broker at start-up fails); once connected it retries forever.
   */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number; initialMaxRetries?: number };
  /** Default timeout of request(). Default 10 000 ms. */
  requestTimeoutMs?: number;
  /** Reported by the built-in ping handler. Default: the logger's `version` binding. */
  version?: string;
  /** Bound on each wait of close() (in-flight handlers, outstanding confirms). Default 10 000 ms. */
  closeTimeoutMs?: number;
  /** Told the latency of every request sent and answered (Prometheus histograms, @pragma/metrics). */
  metrics?: BrokerMetrics;
}

/**
 * Latency of request/reply on both ends. `type` is the request's contract type (a type
 * nobody serves is reported as "unknown", so the wire cannot invent label values);
 * `outcome` is "ok" or the AppError code the caller got.
 */
export interface BrokerMetrics {
  rpcClient(type: string, outcome: string, seconds: number): void;
  rpcServer(type: string, outcome: string, seconds: number): void;
}

export interface QueueDepth {
  queue: string;
  /** Messages ready for delivery. */
  messages: number;
  consumers: number;
}

/** What a service adds to its ping reply about the dependencies it alone can see (its database). */
export type HealthCheck = () => Promise<Record<string, DependencyCheck>>;
export interface DependencyCheck {
  status: "up" | "down";
  latency_ms?: number;
  /** A code (ECONNREFUSED, TIMEOUT), never a message that could carry a secret. */
  error?: string;
}

/**
 * How a publish goes out. Where it goes is the contract's `route`; `exchange` and
 * `routingKey` (both or neither) send it elsewhere: a re-publish of the same message to a
 * retry or dead-letter exchange, or a contract declared without a route.
 */
export type PublishOptions = PublishSettings & ({ exchange?: undefined; routingKey?: undefined } | { exchange: string; routingKey: string });

export interface PublishSettings {
  /** Defaults to a fresh msg_ id. Consumers dedupe by it. */
  messageId?: string;
  /** The request id this message descends from; defaults to the current async context's. */
  correlationId?: string;
  headers?: Record<string, unknown>;
  /** Default true. */
  persistent?: boolean;
  /**
   * Default true: a message no queue takes is returned and the publish rejects with
   * UnroutableError. Broadcast events that may have no subscriber yet pass false.
   */
  mandatory?: boolean;
  expiration?: string | number;
  /**
   * Refuse (MessageTooLargeError, nothing sent) a body longer than this many bytes: for
   * a caller that gathers several payloads into one message and splits it when it grew
   * too large, without serialising anything twice.
   */
  maxBytes?: number;
}

export interface Delivery<T> {
  payload: T;
  type: string;
  messageId: string;
  correlationId: string | undefined;
  headers: Record<string, unknown>;
  redelivered: boolean;
  /** x-delivery-count from a quorum queue (0 on first delivery). */
  deliveryCount: number;
  /** The message's AMQP `timestamp` (whole seconds, as publish() sets it); undefined when absent. */
  publishedAt: Date | undefined;
}

/** What a consumer handler may ask for instead of the default (ack on success). */
export type Disposition =
  | { action: "ack" }
  /** nack without requeue: the queue's dead-letter exchange receives it. */
  | { action: "dead-letter"; reason?: string }
  /** nack with requeue: delivered again (bounded by the queue's x-delivery-limit). */
  | { action: "requeue" };

export type Handler<T> = (delivery: Delivery<T>) => Promise<Disposition | void>;

export interface ConsumeOptions {
  prefetch: number;
  /** Options passed to basic.consume (acknowledgement stays manual). */
  consumeOptions?: { exclusive?: boolean; priority?: number; arguments?: AmqpArguments };
}

export interface ConsumerHandle {
  /** Stops receiving, waits for in-flight handlers to settle. */
  cancel(): Promise<void>;
}

export type RequestHandler<Q, R> = (payload: Q, ctx: { correlationId: string | undefined; headers: Record<string, unknown> }) => Promise<R>;

export interface RpcServerHandle {
  cancel(): Promise<void>;
}

/** x-arguments of a queue, exchange, binding or consumer (x-queue-type, x-message-ttl, ...). */
export type AmqpArguments = Record<string, unknown>;

/**
 * The declaring part of an AMQP channel, all a topology function gets. A rejection carries
 * the broker's reply code as `code` (406 PRECONDITION_FAILED for a mismatched declaration).
 */
export interface TopologyChannel {
  assertExchange(exchange: string, type: string, options?: { durable?: boolean; internal?: boolean; autoDelete?: boolean; alternateExchange?: string; arguments?: AmqpArguments }): Promise<unknown>;
  assertQueue(
    queue: string,
    options?: { exclusive?: boolean; durable?: boolean; autoDelete?: boolean; messageTtl?: number; expires?: number; deadLetterExchange?: string; deadLetterRoutingKey?: string; maxLength?: number; arguments?: AmqpArguments },
  ): Promise<unknown>;
  deleteQueue(queue: string, options?: { ifUnused?: boolean; ifEmpty?: boolean }): Promise<unknown>;
  bindQueue(queue: string, source: string, pattern: string, args?: AmqpArguments): Promise<unknown>;
  bindExchange(destination: string, source: string, pattern: string, args?: AmqpArguments): Promise<unknown>;
}

/**
 * Declares topology on `channel`. A failed declaration closes its channel; `reopen` gives
 * a fresh one (closed by the broker afterwards) for a function that handles the failure,
 * as declareTopology does for a queue marked `recreateIfMismatched`.
 */
export type TopologyFn = (channel: TopologyChannel, reopen: () => Promise<TopologyChannel>) => Promise<void>;

export interface Broker {
  /**
   * Registers topology: run now and again after every reconnect, before consumers
   * are re-attached.
   */
  addTopology(fn: TopologyFn): Promise<void>;

  /**
   * Validates `payload` against the contract, publishes it persistent + mandatory on the
   * confirm channel to the contract's route (or where `options` says), and resolves when
   * the broker confirms. Rejects on: no route at all (a plain Error, a programming
   * mistake; nothing sent), validation failure (MessageValidationError, nothing sent), basic.return (UnroutableError),
   * nack (NackError), connection/channel loss before the confirm or no connection
   * right now (ConnectionLostError), or after close() (ConnectionLostError).
   * Never buffers or resends: a rejected publish is the caller's to retry.
   */
  publish<T>(contract: MessageContract<T>, payload: T, options?: PublishOptions): Promise<void>;

  /**
   * Consumes `queue` on a dedicated channel. Deliveries whose `type` is not one of
   * the contracts, or whose body fails validation, are dead-lettered at once.
   * Handler resolution acks (unless it returns a Disposition); a thrown
   * PermanentError-like error (err.permanent === true) dead-letters; any other throw
   * requeues. Handlers run inside the logger's request context (correlationId).
   * After a reconnect the consumer is re-attached; an ack or nack for a delivery
   * from an earlier channel is dropped (never sent on the new one).
   */
  consume<T>(queue: string, contracts: MessageContract<T> | MessageContract<T>[], handler: Handler<T>, options: ConsumeOptions): Promise<ConsumerHandle>;

  /** Serves request contracts on `queue`; errors go back as {code, detail} (AppError wire form). */
  serve(queue: string, handlers: RpcHandlers, options?: { prefetch?: number; health?: HealthCheck }): Promise<RpcServerHandle>;

  /**
   * Request/reply over direct reply-to. Rejects with AppError TIMEOUT after the
   * timeout, UNAVAILABLE when nobody serves `queue` (mandatory return) or the
   * broker is down, or the AppError the server answered with.
   */
  request<Q, R>(queue: string, contract: RequestContract<Q, R>, payload: Q, options?: { timeoutMs?: number; correlationId?: string; headers?: Record<string, unknown> }): Promise<R>;

  /** true while a connection is open. */
  isConnected(): boolean;

  /** Publishes sent and not yet confirmed (bounded by publishWindow). For tests and metrics. */
  inFlightPublishes(): number;

  /**
   * Ready messages and consumers of each named queue (passive declares on a channel of
   * its own); a queue that does not exist is left out. For metrics: call it sampled.
   */
  queueDepths(queues: string[]): Promise<QueueDepth[]>;

  /** Graceful: stop consumers, wait for in-flight handlers and confirms, close. */
  close(): Promise<void>;
}

export interface RpcHandlers {
  [type: string]: { contract: RequestContract<any, any>; handle: RequestHandler<any, any> };
}

/** Helper to keep handler payload types tied to their contract. */
export function handler<Q, R>(contract: RequestContract<Q, R>, handle: RequestHandler<Q, R>): RpcHandlers[string] {
  return { contract, handle };
}

/**
 * A service's handler table, one `handler(contract, fn)` per request it answers, keyed by the
 * contract's type (never written twice by hand); a type listed twice is a mistake and throws.
 */
export function handlerTable(...list: RpcHandlers[string][]): RpcHandlers {
  const table: RpcHandlers = {};
  for (const h of list) {
    if (table[h.contract.type]) throw new Error(`two handlers for ${h.contract.type}`);
    table[h.contract.type] = h;
  }
  return table;
}
