import { ResourceCache } from "./resource-cache";

const s1 = { org_id: "o", project_id: "p", space_id: "s1" };
const s2 = { org_id: "o", project_id: "p", space_id: "s2" };
const ref = (scope: typeof s1, resource_id: string) => ({ ...scope, resource_id });

function cache(over: { ttlMs?: number; maxEntries?: number } = {}) {
  let now = 1_000;
  let live = true;
  const c = new ResourceCache({ ttlMs: over.ttlMs ?? 100, maxEntries: over.maxEntries ?? 100, live: () => live, now: () => now });
  const put = (scope: typeof s1, id: string, body: string) => c.fill(c.begin(scope, id), body);
  return { c, put, tick: (ms: number) => (now += ms), setLive: (v: boolean) => (live = v) };
}

describe("ResourceCache", () => {
  it("answers what was filled, per scope and id, until the TTL", () => {
    const { c, put, tick } = cache();
    put(s1, "r", "A");
    expect(c.get(s1, "r")).toBe("A");
    expect(c.get(s2, "r")).toBeUndefined();
    expect(c.get(s1, "other")).toBeUndefined();
    tick(99);
    expect(c.get(s1, "r")).toBe("A");
    tick(1);
    expect(c.get(s1, "r")).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it("a fetch that began before a change notification does not fill (the answer may predate the change)", () => {
    const { c } = cache();
    const t = c.begin(s1, "r");
    c.invalidate([ref(s1, "r")]);
    c.fill(t, "OLD");
    expect(c.get(s1, "r")).toBeUndefined();
  });

  it("of two overlapping fetches only the later fills; an entry in flight answers nothing", () => {
    const { c } = cache();
    const first = c.begin(s1, "r");
    const second = c.begin(s1, "r");
    expect(c.get(s1, "r")).toBeUndefined();
    c.fill(first, "FIRST");
    expect(c.get(s1, "r")).toBeUndefined();
    c.fill(second, "SECOND");
    expect(c.get(s1, "r")).toBe("SECOND");
    c.fill(first, "FIRST");
    expect(c.get(s1, "r")).toBe("SECOND");
  });

  it("invalidate drops only the named resources; dropScope drops a whole scope, fetches in flight included", () => {
    const { c, put } = cache();
    put(s1, "a", "A");
    put(s1, "b", "B");
    put(s2, "a", "A2");
    c.invalidate([ref(s1, "a"), ref(s2, "unknown")]);
    expect(c.get(s1, "a")).toBeUndefined();
    expect(c.get(s1, "b")).toBe("B");
    const inFlight = c.begin(s1, "c");
    c.dropScope(s1);
    c.fill(inFlight, "C");
    expect(c.get(s1, "b")).toBeUndefined();
    expect(c.get(s1, "c")).toBeUndefined();
    expect(c.get(s2, "a")).toBe("A2");
    // The scope index forgot s1 entirely: a new entry there is tracked afresh.
    put(s1, "d", "D");
    c.dropScope(s1);
    expect(c.get(s1, "d")).toBeUndefined();
    expect(c.size).toBe(1);
  });

  it("while not live (broker connection down) it neither answers nor fills", () => {
    const { c, put, setLive } = cache();
    put(s1, "r", "A");
    setLive(false);
    expect(c.get(s1, "r")).toBeUndefined();
    expect(c.begin(s1, "x")).toBeUndefined();
    setLive(true);
    const t = c.begin(s1, "y");
    setLive(false);
    c.fill(t, "Y");
    setLive(true);
    expect(c.get(s1, "y")).toBeUndefined();
  });

  it("abandon frees an entry in flight (a failed fetch leaves nothing behind), but not one claimed again or filled", () => {
    const { c } = cache();
    const failed = c.begin(s1, "gone");
    c.abandon(failed);
    expect(c.size).toBe(0);
    const first = c.begin(s1, "r");
    const second = c.begin(s1, "r");
    c.abandon(first);
    c.fill(second, "R");
    expect(c.get(s1, "r")).toBe("R");
    c.abandon(second);
    expect(c.get(s1, "r")).toBe("R");
    c.dropScope(s1);
    expect(c.size).toBe(0);
  });

  it("afterWrite drops the scope once the write is done, also when it fails (the store may have committed before the error)", async () => {
    const { c, put } = cache();
    put(s1, "a", "A");
    put(s2, "b", "B");
    let seenDuring: string | undefined;
    expect(await c.afterWrite(s1, async () => ((seenDuring = c.get(s1, "a")), "done"))).toBe("done");
    expect(seenDuring).toBe("A");
    expect(c.get(s1, "a")).toBeUndefined();
    put(s1, "a", "A2");
    await expect(c.afterWrite(s1, async () => Promise.reject(new Error("timeout")))).rejects.toThrow("timeout");
    expect(c.get(s1, "a")).toBeUndefined();
    expect(c.get(s2, "b")).toBe("B");
  });

  it("a TTL of 0 turns it off", () => {
    const { c, put } = cache({ ttlMs: 0 });
    put(s1, "r", "A");
    expect(c.get(s1, "r")).toBeUndefined();
    expect(c.size).toBe(0);
  });

  it("holds at most maxEntries, evicting the oldest", () => {
    const { c, put } = cache({ maxEntries: 2 });
    put(s1, "a", "A");
    put(s1, "b", "B");
    put(s2, "c", "C");
    expect(c.size).toBe(2);
    expect(c.get(s1, "a")).toBeUndefined();
    expect(c.get(s1, "b")).toBe("B");
    expect(c.get(s2, "c")).toBe("C");
    c.clear();
    expect(c.size).toBe(0);
    expect(c.get(s1, "b")).toBeUndefined();
  });
});
