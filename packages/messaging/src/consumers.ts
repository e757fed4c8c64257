/**
 * Consumers, each on a channel of its own, for both consume() and serve(): attach,
 * re-attach after a reconnect or a lost channel, run a processor per delivery, settle
 * what it decided, cancel and drain.
 *
 * An ack or nack only ever goes to the channel the delivery came on. Delivery tags are
 * per channel, so sending one on a newer channel would close that channel.
 */
import type { Channel, ConsumeMessage, Options } from "amqplib";
import type { ConsumerHandle, Disposition } from "./api";
import { AckBatcher } from "./ack-batcher";
import { sleep, type Connection, type Live } from "./connection";
import { ConnectionLostError } from "./errors";

export const ACK: Disposition = { action: "ack" };
export const DEAD_LETTER: Disposition = { action: "dead-letter" };
export const REQUEUE: Disposition = { action: "requeue" };
/** Delay before re-attaching a consumer whose channel closed while the connection stayed up. */
const REATTACH_DELAY_MS = 1000;

/** What processing a delivery decided: how to settle it, and for a request the reply to send first. */
export interface Outcome {
  disposition: Disposition;
  reply?: { to: string; content: Buffer; properties: Options.Publish };
}

/** Decides what to do with one delivery. `ch` is the channel it came on (a batch of requests answers on it as it goes). */
export type Processor = (msg: ConsumeMessage, ch: Channel) => Promise<Outcome>;

interface ConsumerState {
  queue: string;
  label: string;
  prefetch: number;
  consumeOptions: Options.Consume;
  process: Processor;
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

export class Consumers {
  private readonly all = new Set<ConsumerState>();

  constructor(private readonly conn: Connection) {}

  get size(): number {
    return this.all.size;
  }

  /** Starts consuming `queue` now if connected (a failure, most likely a missing queue, rejects), and on every later connection. */
  async add(queue: string, label: string, prefetch: number, consumeOptions: Options.Consume, process: Processor): Promise<ConsumerHandle> {
    if (this.conn.closing) throw new ConnectionLostError("broker is closing");
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
    this.all.add(state);
    const live = this.conn.live;
    if (live) {
      try {
        await this.attach(state, live);
      } catch (err) {
        // Most likely the queue does not exist: tell the caller now rather than retrying forever.
        this.all.delete(state);
        state.cancelled = true;
        throw err;
      }
    }
    return { cancel: () => this.cancel(state, Date.now() + this.conn.closeTimeoutMs) };
  }

  /** Attaches every consumer to a new connection; one that fails is retried on its own. */
  async attachAll(live: Live): Promise<void> {
    await Promise.all(
      [...this.all].map((s) =>
        this.attach(s, live).catch((err) => {
          this.conn.log.error({ err, queue: s.queue }, "could not re-attach consumer; will retry");
          this.scheduleReattach(s);
        }),
      ),
    );
  }

  /** Cancels every consumer and waits (until `deadline`) for their in-flight handlers. */
  async cancelAll(deadline: number): Promise<void> {
    await Promise.all([...this.all].map((s) => this.cancel(s, deadline)));
  }

  private async attach(state: ConsumerState, live: Live): Promise<void> {
    if (state.cancelled || this.conn.closing || state.attachedGen === live.gen) return;
    state.attachedGen = live.gen;
    let ch: Channel | undefined;
    try {
      ch = await this.conn.channel(live, state.label);
      const channel = ch;
      channel.on("close", () => {
        if (state.channel !== channel) return;
        state.acks?.discard();
        state.channel = null;
        state.acks = null;
        state.consumerTag = null;
        state.attachedGen = -1;
        // Connection still up: only this channel died (e.g. a double ack from a handler); come back on a new one.
        if (this.conn.live === live) this.scheduleReattach(state);
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
      if (ch) await this.conn.closeChannel(ch);
      throw err;
    }
  }

  private scheduleReattach(state: ConsumerState): void {
    if (state.cancelled || this.conn.closing || state.reattachTimer) return;
    state.reattachTimer = setTimeout(() => {
      state.reattachTimer = null;
      const live = this.conn.live;
      // Not connected: the next setup attaches every consumer anyway.
      if (!live) return;
      // The queue may be gone, not just the channel: in a cluster, a transient queue (the
      // RPC queues) is deleted with the node that hosted it while this connection, on
      // another node, stays up. Declaring the topology again recreates it here.
      // Best effort: a declaration that fails for another queue must not keep this consumer off its own.
      this.conn
        .redeclare(live)
        .catch((err) => this.conn.log.warn({ err, queue: state.queue }, "topology declaration failed before re-attaching a consumer"))
        .then(() => this.attach(state, live))
        .catch((err) => {
          this.conn.log.error({ err, queue: state.queue }, "could not re-attach consumer; will retry");
          this.scheduleReattach(state);
        });
    }, REATTACH_DELAY_MS);
    state.reattachTimer.unref();
  }

  private onDelivery(state: ConsumerState, ch: Channel, acks: AckBatcher, msg: ConsumeMessage | null): void {
    if (msg === null) {
      // The broker cancelled us (queue deleted, or a quorum queue leader moved).
      this.conn.log.warn({ queue: state.queue }, "consumer cancelled by the broker");
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
        this.conn.log.error({ err, queue: state.queue }, "message processing failed unexpectedly; requeueing");
        return { disposition: REQUEUE };
      })
      .then((o) => this.settle(state, ch, acks, msg, o));
    state.inFlight.add(p);
    void p.finally(() => state.inFlight.delete(p));
  }

  private settle(state: ConsumerState, ch: Channel, acks: AckBatcher, msg: ConsumeMessage, outcome: Outcome): void {
    const d = outcome.disposition;
    if (this.conn.isClosed(ch) || state.channel !== ch) {
      // The broker has already requeued it (a request is answered on redelivery); its tag means nothing on any other channel.
      this.conn.log.debug({ queue: state.queue, deliveryTag: msg.fields.deliveryTag, action: d.action }, "dropping ack/nack for a delivery from a closed channel");
      return;
    }
    try {
      if (outcome.reply) ch.sendToQueue(outcome.reply.to, outcome.reply.content, outcome.reply.properties);
      const tag = msg.fields.deliveryTag;
      if (d.action === "ack") acks.ack(tag);
      else acks.nack(tag, d.action !== "dead-letter");
    } catch (err) {
      this.conn.log.debug({ err, queue: state.queue, deliveryTag: msg.fields.deliveryTag }, "dropping ack/nack: channel closing");
    }
  }

  private async cancel(state: ConsumerState, deadline: number): Promise<void> {
    if (!this.all.has(state) && state.cancelled && state.inFlight.size === 0) return;
    state.cancelled = true;
    this.all.delete(state);
    if (state.reattachTimer) {
      clearTimeout(state.reattachTimer);
      state.reattachTimer = null;
    }
    const ch = state.channel;
    if (ch && state.consumerTag && !this.conn.isClosed(ch)) await ch.cancel(state.consumerTag).catch(() => undefined);
    // Deliveries already on the wire before cancel-ok still arrive and join inFlight.
    while (state.inFlight.size > 0 && Date.now() < deadline) {
      await Promise.race([Promise.allSettled([...state.inFlight]), sleep(deadline - Date.now())]);
    }
    if (state.inFlight.size > 0) this.conn.log.warn({ queue: state.queue, inFlight: state.inFlight.size }, "handlers still running at close; their messages will be redelivered");
    const acks = state.acks;
    state.channel = null;
    state.acks = null;
    if (ch && !this.conn.isClosed(ch)) {
      try {
        acks?.flush();
      } catch (err) {
        this.conn.log.debug({ err, queue: state.queue }, "could not send the last acks: channel closing");
      }
      await ch.close().catch(() => undefined);
    }
  }
}
