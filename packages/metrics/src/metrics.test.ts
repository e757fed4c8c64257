import { Counter, Registry } from "prom-client";
import { memo2, memo3, statusLabel } from "./labels";
import { sampledGauge, sampler } from "./sampled";

describe("label memo", () => {
  it("makes one child per label tuple and reuses it", () => {
    let made = 0;
    const of = memo3((a, b, c) => ({ key: `${a}|${b}|${c}`, n: ++made }));
    expect(of("GET", "/x", "200")).toBe(of("GET", "/x", "200"));
    expect(of("GET", "/x", "404").key).toBe("GET|/x|404");
    expect(of("POST", "/x", "200").key).toBe("POST|/x|200");
    expect(made).toBe(3);
    const two = memo2((a, b) => `${a}${b}`);
    expect(two("a", "b")).toBe("ab");
  });

  it("counts through the memoised child on the registry it belongs to", async () => {
    const registry = new Registry();
    const c = new Counter({ name: "t_total", help: "t", labelNames: ["from", "to"], registers: [registry] });
    const of = memo2((from, to) => c.labels(from, to));
    of("pending", "ready").inc();
    of("pending", "ready").inc();
    expect(await registry.metrics()).toContain('t_total{from="pending",to="ready"} 2');
  });

  it("status codes become their decimal strings", () => {
    expect(statusLabel(200)).toBe("200");
    expect(statusLabel(503)).toBe("503");
    expect(statusLabel(999)).toBe("other");
  });
});

describe("sampler", () => {
  it("reads at most once per interval, shares a read in flight, and drops a failed sample", async () => {
    let reads = 0;
    let fail = false;
    const sample = sampler(async () => {
      reads++;
      if (fail) throw new Error("broker down");
      return reads;
    }, 60_000);
    const [a, b] = await Promise.all([sample(), sample()]);
    expect([a, b, reads]).toEqual([1, 1, 1]);
    expect(await sample()).toBe(1);
    expect(reads).toBe(1);

    const fresh = sampler(async () => {
      reads++;
      if (fail) throw new Error("broker down");
      return reads;
    }, 0);
    fail = true;
    expect(await fresh()).toBeUndefined();
  });

  it("a sampled gauge shows the last good sample and no series after a failed one", async () => {
    const registry = new Registry();
    let value: number | Error = 7;
    const sample = sampler(async () => {
      if (value instanceof Error) throw value;
      return value;
    }, 0);
    sampledGauge(registry, { name: "t_depth", help: "t", labelNames: ["queue"] }, sample, (v) => [{ labels: { queue: "work.x" }, value: v }]);
    expect(await registry.metrics()).toContain('t_depth{queue="work.x"} 7');
    value = new Error("gone");
    expect(await registry.metrics()).not.toContain("t_depth{");
  });
});
