import { z } from "zod";

/**
 * Where a message is published: its exchange ("" is the default exchange, whose routing
 * key names a queue) and the routing key of a payload.
 */
export interface MessageRoute<T> {
  readonly exchange: string;
  routingKey(payload: T): string;
}

/**
 * A message type on the bus: events `<domain>.<entity>.<past-tense>.v<N>`,
 * commands `<domain>.<entity>.<verb>.v<N>`. Publish and consume both validate
 * against `schema`. Within a version only optional fields may be added. `route` says
 * where it is published, so a publish names only the contract; every contract this
 * package exports has one (message.test.ts), and only a consumer's own loose view of a
 * message (the store's dead-letter consumer reads any work as `unknown`) goes without.
 */
export interface MessageContract<T = unknown> {
  readonly kind: "message";
  readonly type: string;
  readonly schema: z.ZodType<T>;
  readonly route?: MessageRoute<T>;
}

/** A request/reply pair over the bus (direct reply-to). */
export interface RequestContract<Req = unknown, Res = unknown> {
  readonly kind: "request";
  readonly type: string;
  readonly request: z.ZodType<Req>;
  readonly response: z.ZodType<Res>;
  /** Set by defineRawRequest: the answer is a RawAnswer, whose `body` travels as the reply's bytes. */
  readonly raw?: true;
}

/**
 * The answer of a request defined with defineRawRequest. `body` is bytes the caller passes
 * on as they are (the Auto API's rows as the HTTP body's JSON text): @pragma/messaging
 * sends them as the reply message's body, not inside a JSON envelope, so they are neither
 * escaped by the server nor parsed and copied by the client. `meta` is the little the
 * caller needs besides (a row count), sent as JSON in a header. Uint8Array, as a Buffer
 * is one: the contracts are also compiled for the browser (the console).
 */
export interface RawAnswer<M> {
  body: Uint8Array;
  meta: M;
}

const TYPE_RE = /^[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.[a-z][a-z0-9-]*\.v[1-9][0-9]*$/;

/**
 * `route.routingKey` is a constant or read from the payload; absent, it is the message
 * type (the convention on the topic exchanges pragma.events and pragma.results).
 */
export function defineMessage<S extends z.ZodType>(
  type: string,
  schema: S,
  route?: { exchange: string; routingKey?: string | ((payload: z.infer<S>) => string) },
): MessageContract<z.infer<S>> {
  if (!TYPE_RE.test(type)) throw new Error(`bad message type name: ${type}`);
  const contract: MessageContract<z.infer<S>> = { kind: "message", type, schema: schema as z.ZodType<z.infer<S>> };
  if (!route) return contract;
  const key = route.routingKey ?? type;
  return { ...contract, route: { exchange: route.exchange, routingKey: typeof key === "function" ? key : () => key } };
}

export function defineRequest<Q extends z.ZodType, R extends z.ZodType>(
  type: string,
  request: Q,
  response: R,
): RequestContract<z.infer<Q>, z.infer<R>> {
  if (!TYPE_RE.test(type)) throw new Error(`bad request type name: ${type}`);
  return { kind: "request", type, request: request as z.ZodType<z.infer<Q>>, response: response as z.ZodType<z.infer<R>> };
}

/** A request answered with a RawAnswer: `body` bytes and `meta` checked against `meta`. Errors are answered as for any request. */
export function defineRawRequest<Q extends z.ZodType, M extends z.ZodType>(type: string, request: Q, meta: M): RequestContract<z.infer<Q>, RawAnswer<z.infer<M>>> {
  const body = z.custom<Uint8Array>((v) => v instanceof Uint8Array, "must be bytes");
  const response = z.object({ body, meta }) as unknown as z.ZodType<RawAnswer<z.infer<M>>>;
  return { ...defineRequest(type, request, response), raw: true };
}

export type PayloadOf<C> = C extends MessageContract<infer T> ? T : never;
export type RequestOf<C> = C extends RequestContract<infer Q, unknown> ? Q : never;
export type ResponseOf<C> = C extends RequestContract<unknown, infer R> ? R : never;

/** AMQP header names for tenant ids (house rule: tenant ids travel in headers). */
export const HEADERS = {
  orgId: "x-org-id",
  projectId: "x-project-id",
  spaceId: "x-space-id",
  /** The resource a work message is for (its dead-lettered copy keeps it). */
  resourceId: "x-resource-id",
  /** Our own retry counter (work messages); the broker's x-delivery-count is separate. */
  retryCount: "x-retry-count",
  /** Set by a worker when it dead-letters an event for a permanent error. */
  permanentError: "x-permanent-error",
  errorMessage: "x-error-message",
  /**
   * A client's Idempotency-Key (HTTP header, draft-ietf-httpapi-idempotency-key-header), as
   * the gateway passes it on a write request to the store: the store answers a repeat of
   * the key with the first answer (services/resource-store/README.md, "Repeated requests").
   */
  idempotencyKey: "x-idempotency-key",
} as const;
