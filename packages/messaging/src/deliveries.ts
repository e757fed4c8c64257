/**
 * What consume() does with one delivery: find its contract by `type`, validate the body,
 * run the handler in the delivery's request context, and turn the result into a
 * Disposition (the one failure policy: invalid or permanent → dead letter, any other
 * throw → requeue).
 */
import type { ConsumeMessage } from "amqplib";
import { runWithContext, type Logger } from "@pragma/logger";
import type { MessageContract } from "@pragma/contracts";
import type { Delivery, Disposition, Handler } from "./api";
import { ACK, DEAD_LETTER, REQUEUE, type Processor } from "./consumers";
import { toValidationIssues } from "./errors";
import { contextFromProperties, deliveryCountOf, publishedAtOf } from "./message-properties";

/** A thrown error that retrying cannot fix (err.permanent === true, as PermanentError sets). */
export function isPermanentError(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { permanent?: unknown }).permanent === true;
}

/** The processor of a consume() on `queue`: deliveries of `contracts` go to `handle`. */
export function deliveryProcessor<T>(log: Logger, queue: string, contracts: MessageContract<T> | MessageContract<T>[], handle: Handler<T>): Processor {
  const byType = new Map<string, MessageContract<T>>();
  for (const c of Array.isArray(contracts) ? contracts : [contracts]) byType.set(c.type, c);
  return async (msg) => ({ disposition: await processDelivery(log, queue, byType, handle, msg) });
}

/** What every processor reads first from a delivery on `queue`: its type, headers, and the fields that name it in logs. */
export interface DeliveryInfo {
  type: string;
  headers: Record<string, unknown>;
  meta: { queue: string; type: string; messageId: unknown };
}

/** Runs `fn` in the request context `msg` carries (its correlation id and tenant headers). */
export function inDeliveryContext<R>(queue: string, msg: ConsumeMessage, fn: (info: DeliveryInfo) => Promise<R>): Promise<R> {
  const props = msg.properties;
  const headers = (props.headers ?? {}) as Record<string, unknown>;
  const ctx = contextFromProperties({ correlationId: props.correlationId, messageId: props.messageId, headers });
  const type = typeof props.type === "string" ? props.type : "";
  return runWithContext(ctx, () => fn({ type, headers, meta: { queue, type, messageId: props.messageId as unknown } }));
}

function processDelivery<T>(log: Logger, queue: string, byType: Map<string, MessageContract<T>>, handle: Handler<T>, msg: ConsumeMessage): Promise<Disposition> {
  const props = msg.properties;
  return inDeliveryContext(queue, msg, async ({ type, headers, meta }): Promise<Disposition> => {
    const contract = byType.get(type);
    if (!contract) {
      log.error(meta, "dead-lettering message of unknown type");
      return DEAD_LETTER;
    }
    let body: unknown;
    try {
      body = JSON.parse(msg.content.toString("utf8"));
    } catch {
      log.error(meta, "dead-lettering message whose body is not JSON");
      return DEAD_LETTER;
    }
    const parsed = contract.schema.safeParse(body);
    if (!parsed.success) {
      log.error({ ...meta, issues: toValidationIssues(parsed.error) }, "dead-lettering message that fails its contract");
      return DEAD_LETTER;
    }
    const delivery: Delivery<T> = {
      payload: parsed.data,
      type,
      messageId: typeof props.messageId === "string" ? props.messageId : "",
      correlationId: typeof props.correlationId === "string" ? props.correlationId : undefined,
      publishedAt: publishedAtOf(props.timestamp),
      headers,
      redelivered: msg.fields.redelivered,
      deliveryCount: deliveryCountOf(headers),
    };
    try {
      return (await handle(delivery)) ?? ACK;
    } catch (err) {
      if (isPermanentError(err)) {
        log.warn({ ...meta, err }, "handler failed permanently; dead-lettering");
        return DEAD_LETTER;
      }
      log.warn({ ...meta, err, deliveryCount: delivery.deliveryCount }, "handler failed; requeueing");
      return REQUEUE;
    }
  });
}
