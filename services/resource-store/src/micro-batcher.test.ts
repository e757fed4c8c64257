import { MicroBatcher } from "./micro-batcher";

describe("MicroBatcher", () => {
  it("groups what arrives while a batch runs, caps the batch size, and settles each item with its own outcome", async () => {
    const seen: number[][] = [];
    const b = new MicroBatcher<number, number>(async (items) => {
      seen.push(items);
      await new Promise((r) => setTimeout(r, 10));
      return items.map((n) => (n === 4 ? { status: "rejected", reason: new Error("four") } : { status: "fulfilled", value: n * 10 }));
    }, 3);
    const first = b.add(1);
    await new Promise((r) => setImmediate(r));
    const rest = [2, 3, 4, 5, 6].map((n) => b.add(n));
    const results = await Promise.allSettled([first, ...rest]);
    expect(seen).toEqual([[1], [2, 3, 4], [5, 6]]);
    expect(results.map((r) => (r.status === "fulfilled" ? r.value : (r.reason as Error).message))).toEqual([10, 20, 30, "four", 50, 60]);
  });

  it("rejects every item of a batch whose run throws, and keeps serving later ones", async () => {
    let fail = true;
    const b = new MicroBatcher<string, string>(async (items) => {
      if (fail) {
        fail = false;
        throw new Error("down");
      }
      return items.map((s) => ({ status: "fulfilled" as const, value: s.toUpperCase() }));
    }, 10);
    await expect(Promise.all([b.add("a"), b.add("b")])).rejects.toThrow("down");
    await expect(b.add("c")).resolves.toBe("C");
  });
});

describe("MicroBatcher linger", () => {
  it("waits lingerMs for more items before running a batch that is not full", async () => {
    const seen: string[][] = [];
    const b = new MicroBatcher<string, string>(async (items) => {
      seen.push(items);
      return items.map((s) => ({ status: "fulfilled" as const, value: s }));
    }, 10, 30);
    const first = b.add("a");
    await new Promise((r) => setTimeout(r, 10));
    const second = b.add("b");
    await Promise.all([first, second]);
    expect(seen).toEqual([["a", "b"]]);
  });
});

describe("MicroBatcher maxInFlight", () => {
  it("runs up to maxInFlight batches at once; what arrives while all run waits for the next", async () => {
    const seen: number[][] = [];
    let running = 0;
    let most = 0;
    const b = new MicroBatcher<number, number>(
      async (items) => {
        seen.push(items);
        most = Math.max(most, ++running);
        await new Promise((r) => setTimeout(r, 20));
        running -= 1;
        return items.map((n) => ({ status: "fulfilled" as const, value: n }));
      },
      10,
      0,
      2,
    );
    const a = b.add(1);
    await new Promise((r) => setImmediate(r));
    const c = b.add(2);
    await new Promise((r) => setImmediate(r));
    const rest = [3, 4, 5].map((n) => b.add(n));
    await Promise.all([a, c, ...rest]);
    expect(most).toBe(2);
    expect(seen).toEqual([[1], [2], [3, 4, 5]]);
  });
});
