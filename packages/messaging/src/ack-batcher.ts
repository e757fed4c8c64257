import type { Channel, Message } from "amqplib";

/**
 * Acks a channel's deliveries in batches: acks made in one tick go out together at the
 * next `setImmediate`. The contiguous settled run at the front goes as one
 * `basic.ack multiple=true` up to the last acked tag. On a quorum queue that is one
 * settle command in its log instead of one per message. Acks stuck behind a delivery
 * still being handled go one by one, so a slow message never holds back the others'
 * acks and never eats the prefetch window.
 *
 * Nacks go at once. A later multiple ack may span a nacked tag; the broker has already
 * let go of it, so that is harmless. A multiple ack never covers an unsettled delivery,
 * because it stops at the first tag still being handled.
 * amqplib has no such batching (`ack(msg, true)` is the primitive), hence this class.
 */
export class AckBatcher {
  /** Delivery tags in delivery (ascending) order whose message is not yet acked on the wire (at most the prefetch). */
  private outstanding: number[] = [];
  /** Tags settled since the last flush: acked (true) or nacked (false, already sent). */
  private readonly settled = new Map<number, boolean>();
  private scheduled: NodeJS.Immediate | null = null;

  constructor(private readonly channel: Pick<Channel, "ack" | "nack">) {}

  /** Record a delivery as it arrives (tags grow on a channel). */
  delivered(tag: number): void {
    this.outstanding.push(tag);
  }

  ack(tag: number): void {
    this.settled.set(tag, true);
    this.schedule();
  }

  nack(tag: number, requeue: boolean): void {
    this.channel.nack(asMessage(tag), false, requeue);
    this.settled.set(tag, false);
    this.schedule();
  }

  /** The channel closed: its tags mean nothing any more (the broker requeues what was not acked). */
  discard(): void {
    if (this.scheduled) clearImmediate(this.scheduled);
    this.scheduled = null;
    this.settled.clear();
    this.outstanding = [];
  }

  private schedule(): void {
    this.scheduled ??= setImmediate(() => {
      this.scheduled = null;
      try {
        this.flush();
      } catch {
        // The channel closed under us: the broker requeues every delivery it did not see acked.
        this.discard();
      }
    });
  }

  /** Send every ack that is due now. Safe to call at any time (e.g. before closing the channel). */
  flush(): void {
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = null;
    }
    if (this.settled.size === 0) return;
    // The settled run at the front goes as one multiple ack up to its last acked tag; the
    // nacked ones in it are already on the wire (and no longer the broker's to ack).
    let run = 0;
    let lastAcked = -1;
    for (; run < this.outstanding.length; run++) {
      const s = this.settled.get(this.outstanding[run]!);
      if (s === undefined) break;
      if (s) lastAcked = this.outstanding[run]!;
    }
    if (lastAcked >= 0) this.channel.ack(asMessage(lastAcked), true);
    for (let i = 0; i < run; i++) this.settled.delete(this.outstanding[i]!);
    // Acks behind a delivery still being handled: one by one.
    for (const [tag, acked] of this.settled) if (acked) this.channel.ack(asMessage(tag), false);
    const rest = this.outstanding.slice(run);
    this.outstanding = this.settled.size === 0 ? rest : rest.filter((t) => !this.settled.has(t));
    this.settled.clear();
  }

  /** Deliveries not yet acked or nacked on the wire. */
  get unsettled(): number {
    return this.outstanding.length;
  }
}

function asMessage(deliveryTag: number): Message {
  return { fields: { deliveryTag } } as Message;
}
