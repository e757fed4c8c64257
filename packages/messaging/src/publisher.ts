/**
 * Confirmed publishing: one confirm channel per connection, at most `publishWindow`
 * publishes unconfirmed at a time, each one settled by the broker's ack (or its
 * basic.return, nack, or the channel's loss).
 *
 * A publish is never silently retried: if the channel goes before the confirm, the caller
 * gets ConnectionLostError and decides (the outbox relay re-publishes).
 */
import { IllegalOperationError, type Channel, type ConfirmChannel, type Message, type Options } from "amqplib";
import { newId } from "@pragma/ids";
import { currentContext } from "@pragma/logger";
import type { MessageContract } from "@pragma/contracts";
import type { PublishOptions } from "./api";
import { ChannelPerConnection, sleep, type Connection, type Live } from "./connection";
import { ConnectionLostError, MessageTooLargeError, MessageValidationError, NackError, UnroutableError, toValidationIssues } from "./errors";
import { amqpTimestamp, tenantHeaders, withoutUndefined } from "./message-properties";

interface PendingPublish {
  messageId: string;
  exchange: string;
  routingKey: string;
  returned?: { replyCode: number; replyText: string };
}

export class ConfirmPublisher {
  private readonly window: number;
  private readonly channels: ChannelPerConnection<ConfirmChannel>;

  private inFlight = 0;
  private readonly slotWaiters: (() => void)[] = [];
  private readonly idleWaiters: (() => void)[] = [];
  private drain: Promise<void> | null = null;
  private readonly pending = new Map<string, PendingPublish[]>();

  constructor(private readonly conn: Connection) {
    this.window = Math.max(1, conn.options.publishWindow ?? 1000);
    this.channels = new ChannelPerConnection(conn, (live) => this.openChannel(live));
  }

  /** Publishes sent and not yet confirmed. */
  unconfirmed(): number {
    return this.inFlight;
  }

  /** Opens the confirm channel of a new connection (part of its setup: a failure drops the connection). */
  open(live: Live): Promise<ConfirmChannel> {
    return this.channels.open(live);
  }

  private async openChannel(live: Live): Promise<ConfirmChannel> {
    const ch = await this.conn.confirmChannel(live, "publish");
    // The broker sends basic.return before the ack of the same message, so mark it here and reject when the ack arrives.
    ch.on("return", (msg: Message) => {
      const id = msg.properties.messageId as string | undefined;
      const pending = id ? this.pending.get(id)?.find((p) => !p.returned) : undefined;
      const fields = msg.fields as unknown as { replyCode?: number; replyText?: string };
      if (pending) pending.returned = { replyCode: fields.replyCode ?? 312, replyText: fields.replyText ?? "NO_ROUTE" };
    });
    // The connection may still be up (e.g. a publish to a missing exchange closed the channel): a new one opens on demand.
    ch.on("close", () => this.channels.closed(live));
    return ch;
  }

  /** Closes the confirm channel of `live` (close(), after waitUntilConfirmed). */
  closeChannel(live: Live): Promise<void> {
    return this.channels.close(live);
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

  /** Waits until every publish is confirmed or `deadline` (ms since the epoch) passes; warns about what is left. */
  async waitUntilConfirmed(deadline: number): Promise<void> {
    while (this.inFlight > 0 && Date.now() < deadline) {
      await Promise.race([new Promise<void>((r) => this.idleWaiters.push(r)), sleep(deadline - Date.now())]);
    }
    if (this.inFlight > 0) this.conn.log.warn({ inFlight: this.inFlight }, "closing with unconfirmed publishes; they will fail with ConnectionLostError");
  }

  async publish<T>(contract: MessageContract<T>, payload: T, options: PublishOptions = {}): Promise<void> {
    if (this.conn.closed) throw new ConnectionLostError("broker is closed");
    const parsed = contract.schema.safeParse(payload);
    if (!parsed.success) throw new MessageValidationError(contract.type, toValidationIssues(parsed.error));
    const { exchange, routingKey } = destinationOf(contract, parsed.data, options);
    const body = Buffer.from(JSON.stringify(parsed.data));
    if (options.maxBytes !== undefined && body.length > options.maxBytes) throw new MessageTooLargeError(contract.type, body.length, options.maxBytes);
    const ctx = currentContext();
    const messageId = options.messageId ?? newId("message");
    const props: Options.Publish = withoutUndefined({
      messageId,
      correlationId: options.correlationId ?? ctx?.requestId,
      type: contract.type,
      timestamp: amqpTimestamp(),
      contentType: "application/json",
      persistent: options.persistent ?? true,
      mandatory: options.mandatory ?? true,
      appId: this.conn.options.connectionName,
      expiration: options.expiration,
      headers: { ...tenantHeaders(ctx), ...(options.headers ?? {}) },
    });

    await this.acquireSlot();
    let ch: ConfirmChannel;
    try {
      if (this.conn.closed) throw new ConnectionLostError("broker is closed");
      ch = await this.channels.current(
        () => new ConnectionLostError("not connected to the broker"),
        (err) => new ConnectionLostError("could not open the publish channel", { cause: err }),
      );
    } catch (err) {
      this.releaseSlot();
      throw err;
    }

    return new Promise<void>((resolve, reject) => {
      const pending: PendingPublish = { messageId, exchange, routingKey };
      let settled = false;
      const settle = (err: Error | null) => {
        if (settled) return;
        settled = true;
        const list = this.pending.get(messageId);
        if (list) {
          const i = list.indexOf(pending);
          if (i >= 0) list.splice(i, 1);
          if (list.length === 0) this.pending.delete(messageId);
        }
        this.releaseSlot();
        if (err) reject(err);
        else resolve();
      };
      const list = this.pending.get(messageId);
      if (list) list.push(pending);
      else this.pending.set(messageId, [pending]);

      try {
        const ok = ch.publish(exchange, routingKey, body, props, (err: unknown) => {
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
        if (err instanceof IllegalOperationError) settle(new ConnectionLostError("publish channel closed", { cause: err }));
        else settle(err as Error);
      }
    });
  }
}

/** Where a publish goes: where `options` says, else the contract's route. */
export function destinationOf<T>(contract: MessageContract<T>, payload: T, options: PublishOptions): { exchange: string; routingKey: string } {
  if (options.exchange !== undefined) return { exchange: options.exchange, routingKey: options.routingKey };
  if (!contract.route) throw new Error(`${contract.type} has no route: declare one with the contract, or name exchange and routingKey`);
  return { exchange: contract.route.exchange, routingKey: contract.route.routingKey(payload) };
}
