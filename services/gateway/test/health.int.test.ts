import { compileErrors, validate } from "@readme/openapi-parser";
import { http, makeTenant, startHarness, type Harness } from "./support";

let h: Harness;
beforeAll(async () => {
  h = await startHarness("gw-health");
});
afterAll(async () => {
  await h?.stop();
});

describe("GET /health/ready", () => {
  it("503 naming the services that do not answer over the bus; the rest up", async () => {
    // Only the registry runs in this file: the store and workers are down.
    const r = await http(h.url, "GET", "/health/ready");
    expect(r.status).toBe(503);
    expect(r.body.status).toBe("unavailable");
    expect(r.body.down.sort()).toEqual(["provider-worker", "resource-store"]);
    expect(r.body.checks.registry).toMatchObject({ status: "up", required: true });
    expect(r.body.checks.rabbitmq).toMatchObject({ status: "up", required: true });
    expect(r.body.checks.redis).toMatchObject({ status: "up", required: false });
    expect(r.body.checks["resource-store"]).toMatchObject({ status: "down", error: "UNAVAILABLE" });
    // PostgreSQL as the registry, the one owner of a database that answered, sees it.
    expect(r.body.checks.postgres).toMatchObject({ status: "up", required: true });
  });
});

describe("Redis down: fail open", () => {
  it("requests pass without rate-limit headers, a warning is logged, readiness reports redis down but not required", async () => {
    const t = await makeTenant(h.url);
    const noRedis = await h.addGateway({ REDIS_URL: "redis://127.0.0.1:1" });
    const r = await http(noRedis, "GET", "/auth/me", { token: t.tokens.member });
    expect(r.status).toBe(200);
    expect(r.headers.get("ratelimit-limit")).toBeNull();
    expect(h.logs.records().some((l) => l.msg === "rate limiter unavailable, failing open")).toBe(true);
    const failOpen = await h.gateways.at(-1)!.handle.metrics.getSingleMetric("pragma_rate_limit_unavailable_total")!.get();
    expect(failOpen.values[0]?.value).toBe(1);
    const ready = await http(noRedis, "GET", "/health/ready");
    expect(ready.body.checks.redis).toMatchObject({ status: "down", required: false });
    expect(ready.body.down).not.toContain("redis");
  });
});

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document covering every mounted route", async () => {
    const r = await http(h.url, "GET", "/openapi.json");
    expect(r.status).toBe(200);
    expect(r.body.openapi).toBe("3.1.0");
    // validate() mutates (dereferences) its argument, so give it a copy.
    const result = await validate(structuredClone(r.body));
    if (!result.valid) throw new Error(compileErrors(result));
    expect(result.valid).toBe(true);
    const paths = Object.keys(r.body.paths);
    for (const p of ["/health", "/health/ready", "/auth/token", "/auth/me", "/orgs", "/orgs/{org_id}/projects", "/orgs/{org_id}/api-keys", "/resources/apply", "/resources/{resource_id}"]) {
      expect(paths).toContain(p);
    }
    expect(r.body.components.schemas.ErrorBody).toBeDefined();
    expect(r.body.paths["/auth/me"].get.security).toEqual([{ bearerAuth: [] }]);
    expect(r.body.paths["/orgs"].post.responses["208"]).toBeDefined();
  });

  it("the documented request schema is the one the route validates with", async () => {
    const r = await http(h.url, "GET", "/openapi.json");
    const schema = r.body.components.schemas.CreateOrgBody;
    expect(schema.required.sort()).toEqual(["abbreviation", "address", "admin_email", "admin_name", "country", "name", "org_id", "pin_code", "state"]);
  });
});
