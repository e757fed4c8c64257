import type { Socket } from "node:net";
import { Writable } from "node:stream";
import { coalesceWrites } from "./coalesce-writes";

/** A stream that records how its data reached the "wire": one entry per write or writev. */
function wire() {
  const calls: string[][] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      calls.push([chunk.toString()]);
      cb();
    },
    writev(chunks, cb) {
      calls.push(chunks.map((c) => (c.chunk as Buffer).toString()));
      cb();
    },
  });
  return { stream, calls };
}

const tick = () => new Promise((r) => process.nextTick(r));

describe("coalesceWrites", () => {
  it("sends everything written in one tick as one writev, in order, and each later tick on its own", async () => {
    const { stream, calls } = wire();
    coalesceWrites(stream as unknown as Socket);
    stream.write("a");
    stream.write("b");
    stream.write("c");
    await tick();
    stream.write("d");
    await tick();
    expect(calls).toEqual([["a", "b", "c"], ["d"]]);
  });

  it("without it, the same writes reach the wire one by one (the cost it removes)", async () => {
    const { stream, calls } = wire();
    stream.write("a");
    stream.write("b");
    await tick();
    expect(calls).toEqual([["a"], ["b"]]);
  });

  it("patches a socket once (setup runs again on every reconnect)", () => {
    const { stream } = wire();
    coalesceWrites(stream as unknown as Socket);
    const patched = stream.write;
    coalesceWrites(stream as unknown as Socket);
    expect(stream.write).toBe(patched);
  });
});
