import { http, makeTenant, startHarness, type Harness, type Tenant } from "./support";

// Two gateways on one store, as two replicas (or two GATEWAY_PROCESSES) would be. The cache
// TTL is set far above the test's length, so only a change notification (or a write through
// the same process) can explain a fresh answer.
let h: Harness;
let t: Tenant;
let a: string;
let b: string;
beforeAll(async () => {
  h = await startHarness("gw-resource-cache", { store: true, gatewayEnv: { RESOURCE_CACHE_MS: "600000", RATE_LIMIT_RPS: "10000", RATE_LIMIT_BURST: "10000" } });
  a = h.url;
  b = await h.addGateway();
  t = await makeTenant(h.url);
});
afterAll(async () => {
  await h?.stop();
});

const apply = (base: string, name: string, config: Record<string, unknown>) =>
  http(base, "POST", "/resources/apply", { body: { provider: "pragma", resource: "config", name, config }, token: t.tokens.bound });
const get = (base: string, name: string, headers: Record<string, string> = {}) =>
  http(base, "GET", `/resources/${encodeURIComponent(`resource:pragma_config_${name}`)}`, { token: t.tokens.bound, headers });

async function eventually<T>(probe: () => Promise<T>, ok: (v: T) => boolean, ms = 5_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (ok(v) || Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("the gateway's resource cache", () => {
  it("a write through one gateway reaches the other's cached answer by the store's change notification", async () => {
    expect((await apply(a, "shared", { v: 1 })).status).toBe(200);
    expect((await get(b, "shared")).body.config).toEqual({ v: 1 }); // b caches v1
    expect((await get(b, "shared")).body.config).toEqual({ v: 1 });
    expect((await apply(a, "shared", { v: 2 })).status).toBe(200);
    const seen = await eventually(() => get(b, "shared"), (r) => r.body.config?.v === 2);
    expect(seen.body.config).toEqual({ v: 2 });
  });

  it("a write through the same gateway is read back at once", async () => {
    await apply(a, "own", { v: 1 });
    expect((await get(a, "own")).body.config).toEqual({ v: 1 });
    await apply(a, "own", { v: 2 });
    expect((await get(a, "own")).body.config).toEqual({ v: 2 });
    expect((await http(a, "DELETE", `/resources/${encodeURIComponent("resource:pragma_config_own")}`, { token: t.tokens.bound })).status).toBe(204);
    expect((await get(a, "own")).status).toBe(404);
  });

  it("a delete through one gateway: the other stops answering the resource", async () => {
    await apply(a, "gone", { v: 1 });
    expect((await get(b, "gone")).status).toBe(200);
    expect((await http(a, "DELETE", `/resources/${encodeURIComponent("resource:pragma_config_gone")}`, { token: t.tokens.bound })).status).toBe(204);
    expect((await eventually(() => get(b, "gone"), (r) => r.status === 404)).status).toBe(404);
  });

  it("answers the same JSON from the cache as from the store, and Cache-Control: no-cache asks the store", async () => {
    await apply(a, "same", { nested: { list: [1, "two", null] } });
    const fromStore = await get(a, "same", { "cache-control": "no-cache" });
    const cached = await get(a, "same");
    expect(cached.text).toBe(fromStore.text);
    expect(cached.headers.get("content-type")).toBe(fromStore.headers.get("content-type"));
  });

  it("serves cached answers only: with the store gone, a cached resource still answers and a no-cache read fails", async () => {
    await apply(a, "cached", { v: 1 });
    expect((await get(b, "cached")).status).toBe(200);
    await h.store!.stop();
    const hit = await get(b, "cached");
    expect(hit.status).toBe(200);
    expect(hit.body.config).toEqual({ v: 1 });
    const miss = await get(b, "cached", { "cache-control": "no-cache" });
    expect(miss.status).toBeGreaterThanOrEqual(500);
  }, 20_000);
});
