import { http, makeTenant, SERVER_KEY, startHarness, type Harness, type Tenant } from "./support";

const BURST = 25;
let h: Harness;
let second: string;
let a: Tenant;
let b: Tenant;
beforeAll(async () => {
  // A refill of one token per 1000 s makes the bucket's allowance exactly BURST during the test.
  h = await startHarness("gw-ratelimit", { gatewayEnv: { RATE_LIMIT_RPS: "0.001", RATE_LIMIT_BURST: String(BURST) } });
  second = await h.addGateway();
  [a, b] = await Promise.all([makeTenant(h.url), makeTenant(h.url)]);
});
afterAll(async () => {
  await h?.stop();
});

/** n concurrent GET /auth/me calls spread over both replicas. */
async function burst(tenant: Tenant, n: number) {
  return Promise.all(Array.from({ length: n }, (_, i) => http(i % 2 === 0 ? h.url : second, "GET", "/auth/me", { token: tenant.tokens.member })));
}

it("two replicas, 80 concurrent requests: exactly the bucket's allowance is admitted", async () => {
  const results = await burst(a, 80);
  const ok = results.filter((r) => r.status === 200);
  const limited = results.filter((r) => r.status === 429);
  expect(ok).toHaveLength(BURST);
  expect(limited).toHaveLength(80 - BURST);
  const remaining = ok.map((r) => Number(r.headers.get("ratelimit-remaining"))).sort((x, y) => x - y);
  expect(remaining).toEqual(Array.from({ length: BURST }, (_, i) => i));
  for (const r of results) expect(r.headers.get("ratelimit-limit")).toBe(String(BURST));
  const r429 = limited[0]!;
  expect(r429.body).toEqual({ detail: "Rate limit exceeded", code: "RATE_LIMITED", request_id: r429.headers.get("x-request-id") });
  expect(Number(r429.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
  expect(r429.headers.get("ratelimit-remaining")).toBe("0");
  expect(Number(r429.headers.get("ratelimit-reset"))).toBeGreaterThan(0);
  // Each replica counts the 429s it answered; together, every one.
  expect(await counted("pragma_rate_limit_rejections_total")).toBe(80 - BURST);
});

async function counted(name: string): Promise<number> {
  let sum = 0;
  for (const g of h.gateways) for (const v of (await g.handle.metrics.getSingleMetric(name)!.get()).values) sum += v.value;
  return sum;
}

it("the bucket is shared: what one replica spends, the other cannot", async () => {
  const c = await makeTenant(h.url);
  const first = await Promise.all(Array.from({ length: 15 }, () => http(h.url, "GET", "/auth/me", { token: c.tokens.member })));
  expect(first.every((r) => r.status === 200)).toBe(true);
  const then = await Promise.all(Array.from({ length: 15 }, () => http(second, "GET", "/auth/me", { token: c.tokens.member })));
  expect(then.filter((r) => r.status === 200)).toHaveLength(BURST - 15);
});

it("one org's exhaustion never affects another", async () => {
  expect((await http(h.url, "GET", "/auth/me", { token: a.tokens.admin })).status).toBe(429);
  const results = await burst(b, BURST);
  expect(results.every((r) => r.status === 200)).toBe(true);
  expect((await http(second, "GET", "/auth/me", { token: b.tokens.admin })).status).toBe(429);
});

it("unauthenticated and System API calls are not counted against an org", async () => {
  const c = await makeTenant(h.url);
  for (let i = 0; i < 5; i++) await http(h.url, "GET", `/orgs/${c.orgId}`, { serverKey: SERVER_KEY });
  const r = await http(h.url, "GET", "/auth/me", { token: c.tokens.member });
  expect(r.headers.get("ratelimit-remaining")).toBe(String(BURST - 1));
});

it("a per-org override from the registry replaces the default", async () => {
  const c = await makeTenant(h.url);
  const patch = await http(h.url, "PATCH", `/orgs/${c.orgId}`, { serverKey: SERVER_KEY, body: { rate_limit: { requests_per_second: 1, burst: 5 } } });
  expect(patch.status).toBe(200);
  const results = await burst(c, 20);
  const admitted = results.filter((r) => r.status === 200).length;
  // One token per second refills; the burst takes well under a second, so at most one extra.
  expect(admitted).toBeGreaterThanOrEqual(5);
  expect(admitted).toBeLessThanOrEqual(6);
  expect(results[0]!.headers.get("ratelimit-limit")).toBe("5");
});
