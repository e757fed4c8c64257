import type { Message } from "amqplib";
import { AckBatcher } from "./ack-batcher";

/** A channel that records the frames it would send. */
function channel() {
  const frames: string[] = [];
  return {
    frames,
    ack: (m: Message, multiple?: boolean) => void frames.push(`ack ${m.fields.deliveryTag}${multiple ? " multiple" : ""}`),
    nack: (m: Message, multiple?: boolean, requeue?: boolean) =>
      void frames.push(`nack ${m.fields.deliveryTag}${multiple ? " multiple" : ""}${requeue === false ? " drop" : " requeue"}`),
  };
}

const nextImmediate = () => new Promise((r) => setImmediate(r));

function batcherWith(tags: number[]) {
  const ch = channel();
  const b = new AckBatcher(ch);
  for (const t of tags) b.delivered(t);
  return { ch, b };
}

describe("AckBatcher", () => {
  it("sends the acks of one tick as one multiple ack, after the tick", async () => {
    const { ch, b } = batcherWith([1, 2, 3]);
    b.ack(1);
    b.ack(2);
    b.ack(3);
    expect(ch.frames).toEqual([]);
    await nextImmediate();
    expect(ch.frames).toEqual(["ack 3 multiple"]);
    expect(b.unsettled).toBe(0);
  });

  it("never lets a multiple ack cover a delivery still being handled; acks behind it go one by one", async () => {
    const { ch, b } = batcherWith([1, 2, 3, 4]);
    b.ack(1);
    b.ack(3);
    b.ack(4);
    await nextImmediate();
    expect(ch.frames).toEqual(["ack 1 multiple", "ack 3", "ack 4"]);
    expect(b.unsettled).toBe(1);
    b.ack(2);
    await nextImmediate();
    expect(ch.frames.slice(3)).toEqual(["ack 2 multiple"]);
    expect(b.unsettled).toBe(0);
  });

  it("sends nacks at once and may span them with a later multiple ack (the broker has let go of them)", async () => {
    const { ch, b } = batcherWith([1, 2, 3]);
    b.ack(1);
    b.nack(2, false);
    expect(ch.frames).toEqual(["nack 2 drop"]);
    b.ack(3);
    await nextImmediate();
    expect(ch.frames).toEqual(["nack 2 drop", "ack 3 multiple"]);
    expect(b.unsettled).toBe(0);
  });

  it("a run that ends in a nack acks up to the last acked tag only", async () => {
    const { ch, b } = batcherWith([5, 6, 7]);
    b.ack(5);
    b.nack(6, true);
    await nextImmediate();
    expect(ch.frames).toEqual(["nack 6 requeue", "ack 5 multiple"]);
    expect(b.unsettled).toBe(1);
    b.nack(7, false);
    await nextImmediate();
    expect(ch.frames.slice(2)).toEqual(["nack 7 drop"]);
    expect(b.unsettled).toBe(0);
  });

  it("flush() sends what is due at once (before a channel is closed)", () => {
    const { ch, b } = batcherWith([1, 2]);
    b.ack(1);
    b.ack(2);
    b.flush();
    expect(ch.frames).toEqual(["ack 2 multiple"]);
  });

  it("a channel that closed under it does not throw out of the scheduled flush", async () => {
    const b = new AckBatcher({
      ack: () => {
        throw new Error("Channel closed");
      },
      nack: () => undefined,
    });
    b.delivered(1);
    b.ack(1);
    await nextImmediate();
    expect(b.unsettled).toBe(0);
  });

  it("keeps going over many deliveries with out-of-order settles", async () => {
    const { ch, b } = batcherWith(Array.from({ length: 3000 }, (_, i) => i + 1));
    for (let t = 3000; t >= 1; t -= 2) b.ack(t); // evens first, all behind tag 1
    await nextImmediate();
    expect(ch.frames).toHaveLength(1500);
    for (let t = 1; t <= 3000; t += 2) b.ack(t);
    await nextImmediate();
    expect(ch.frames.at(-1)).toBe("ack 2999 multiple");
    expect(ch.frames).toHaveLength(1501);
    expect(b.unsettled).toBe(0);
  });
});
