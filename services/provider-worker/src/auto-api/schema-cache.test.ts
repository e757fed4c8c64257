import type { DriverPool } from "../data/databases";
import type { Schema } from "./model";
import { SchemaCache } from "./schema-cache";

const driver = {} as DriverPool;

function setup(revalidateMs = 1000) {
  let now = 1000;
  let version = 0;
  const reads: ((s: Schema) => void)[] = [];
  const cache = new SchemaCache({
    revalidateMs,
    now: () => now,
    introspect: () => new Promise<Schema>((resolve) => reads.push(resolve)),
  });
  const answer = () => reads.shift()!({ dialect: "postgres", tables: new Map(), digest: String(++version) });
  return { cache, reads, answer, tick: (ms: number) => (now += ms), time: () => now };
}

describe("SchemaCache", () => {
  it("shares one read among concurrent requests and reuses it until revalidateMs", async () => {
    const { cache, reads, answer, tick } = setup();
    const a = cache.get("k", driver);
    const b = cache.get("k", driver);
    expect(reads).toHaveLength(1);
    answer();
    expect((await a).digest).toBe("1");
    expect(await b).toBe(await a);
    tick(999);
    expect((await cache.get("k", driver)).digest).toBe("1");
    tick(1);
    const c = cache.get("k", driver);
    expect(reads).toHaveLength(1);
    answer();
    expect((await c).digest).toBe("2");
  });

  it("re-reads after a miss unless a read began after the request did (a column added just before is seen)", async () => {
    const { cache, reads, answer, tick, time } = setup();
    const first = cache.get("k", driver);
    answer();
    await first;
    tick(1);
    // The schema is fresh (1 ms old) but older than the request: a miss must read again.
    const since = time();
    tick(1);
    const again = cache.refreshAfterMiss("k", driver, since);
    expect(reads).toHaveLength(1);
    // A second miss by a request that began before that read started shares it.
    const shared = cache.refreshAfterMiss("k", driver, since - 1);
    expect(reads).toHaveLength(1);
    answer();
    expect((await again).digest).toBe("2");
    expect((await shared).digest).toBe("2");
    // A request that began before the last read started is answered from it.
    expect((await cache.refreshAfterMiss("k", driver, since)).digest).toBe("2");
  });

  it("does not keep a failed read", async () => {
    let fail = true;
    const cache = new SchemaCache({ revalidateMs: 1000, introspect: async () => { if (fail) throw new Error("down"); return { dialect: "mysql", tables: new Map(), digest: "x" }; } });
    await expect(cache.get("k", driver)).rejects.toThrow("down");
    fail = false;
    expect((await cache.get("k", driver)).digest).toBe("x");
  });
});
