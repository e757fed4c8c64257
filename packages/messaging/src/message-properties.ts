/**
 * How the request context travels in AMQP message properties, both ways: tenant ids out
 * as headers, correlation id and tenant headers back in as the context a delivery runs
 * in; and the quorum queue's delivery count.
 */
import { newId } from "@pragma/ids";
import type { RequestContext } from "@pragma/logger";
import { HEADERS } from "@pragma/contracts";

/** The pseudo-queue of RabbitMQ's direct reply-to. */
export const DIRECT_REPLY_TO = "amq.rabbitmq.reply-to";
/** Header on an RPC reply naming the request it answers. */
export const REQUEST_MESSAGE_ID_HEADER = "x-request-message-id";
/** Header on an RPC reply whose body begins with raw answers, saying which and how long (rpc-raw.ts). */
export const RAW_REPLIES_HEADER = "x-raw-replies";

/** x-delivery-count as set by quorum queues; absent on first delivery and on classic queues. */
export function deliveryCountOf(headers: Record<string, unknown> | undefined): number {
  const raw = headers?.["x-delivery-count"];
  const n = typeof raw === "number" ? raw : typeof raw === "string" ? Number(raw) : typeof raw === "bigint" ? Number(raw) : 0;
  return Number.isFinite(n) && n > 0 ? n : 0;
}

/** The AMQP `timestamp` property (whole seconds, as publish() sets it) as a Date; undefined unless a positive number. */
export function publishedAtOf(timestamp: unknown): Date | undefined {
  return typeof timestamp === "number" && timestamp > 0 ? new Date(timestamp * 1000) : undefined;
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

/** The same object without the fields left undefined (message properties built from optional inputs). */
export function withoutUndefined<T extends Record<string, unknown>>(o: T): T {
  for (const k of Object.keys(o)) if (o[k] === undefined) delete o[k];
  return o;
}

/** Seconds since the epoch, the unit of the AMQP `timestamp` property. */
export function amqpTimestamp(): number {
  return Math.floor(Date.now() / 1000);
}
