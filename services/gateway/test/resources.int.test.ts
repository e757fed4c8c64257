import { http, makeTenant, SERVER_KEY, startHarness, token, type Harness, type Tenant } from "./support";

let h: Harness;
let t: Tenant;
beforeAll(async () => {
  h = await startHarness("gw-resources", { store: true });
  t = await makeTenant(h.url);
});
afterAll(async () => {
  await h?.stop();
});

describe("resources through the gateway", () => {
  const resource = (name: string) => ({ provider: "pragma", resource: "config", name, config: { a: 1 } });

  it("no project in header or token: 400 X-Project-Id header is required", async () => {
    const r = await http(h.url, "POST", "/resources/apply", { body: resource("r1"), token: t.tokens.member });
    expect(r.status).toBe(400);
    expect(r.body.detail).toBe("X-Project-Id header is required");
  });

  it("apply with X-Project-Id, then get; the token's default project works without a header", async () => {
    const a = await http(h.url, "POST", "/resources/apply", { body: resource("r2"), token: t.tokens.member, headers: { "x-project-id": t.projectId } });
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ id: "resource:pragma_config_r2", project_id: t.projectId, space_id: t.spaceId, lifecycle_state: "draft" });
    const g = await http(h.url, "GET", `/resources/${encodeURIComponent("resource:pragma_config_r2")}`, { token: t.tokens.bound });
    expect(g.status).toBe(200);
    expect(g.body.id).toBe("resource:pragma_config_r2");
  });

  it("body validation: 422 with body locations", async () => {
    const r = await http(h.url, "POST", "/resources/apply", { body: { resource: "config", name: "x" }, token: t.tokens.bound });
    expect(r.status).toBe(422);
    expect(r.body.detail).toEqual(expect.arrayContaining([{ loc: ["body", "provider"], msg: "field required", type: "missing" }]));
  });

  it("a project of another org is 404, and so is its resource", async () => {
    const other = await makeTenant(h.url);
    await http(h.url, "POST", "/resources/apply", { body: resource("secret-r"), token: other.tokens.bound });
    const r = await http(h.url, "GET", `/resources/${encodeURIComponent("resource:pragma_config_secret-r")}`, { token: t.tokens.member, headers: { "x-project-id": other.projectId } });
    expect(r.status).toBe(404);
    const r2 = await http(h.url, "GET", `/resources/${encodeURIComponent("resource:pragma_config_secret-r")}`, { token: t.tokens.bound });
    expect(r2.status).toBe(404);
  });

  it("token exchange works with a freshly created key", async () => {
    const k = await http(h.url, "POST", `/orgs/${t.orgId}/api-keys`, { body: { name: "fresh", role: "operator" }, serverKey: SERVER_KEY });
    const tok = await token(h.url, k.body.api_key);
    expect((await http(h.url, "GET", "/auth/me", { token: tok })).body.role).toBe("operator");
  });

  it("logs: tail outside 1..10000 is 422 on the query", async () => {
    const r = await http(h.url, "GET", `/resources/${encodeURIComponent("resource:pragma_config_r2")}/logs?tail=0`, { token: t.tokens.bound });
    expect(r.status).toBe(422);
    expect(r.body.detail[0].loc).toEqual(["query", "tail"]);
  });

  it("health/logs of another tenant's resource: 404 before any worker is asked", async () => {
    const other = await makeTenant(h.url);
    const r = await http(h.url, "GET", `/resources/${encodeURIComponent("resource:pragma_config_r2")}/health`, { token: other.tokens.bound });
    expect(r.status).toBe(404);
  });

  it("health with no worker running: 503 from the bus, rendered in the envelope", async () => {
    const r = await http(h.url, "GET", `/resources/${encodeURIComponent("resource:pragma_config_r2")}/health`, { token: t.tokens.bound });
    expect(r.status).toBe(503);
    expect(r.body.code).toBe("UNAVAILABLE");
    // Issue 27.4: a 503 says when to retry (a write retried with its Idempotency-Key gets its first answer).
    expect(r.headers.get("retry-after")).toBe("5");
  });
});
