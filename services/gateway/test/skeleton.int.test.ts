import { http, makeTenant, orgBody, projectBody, SERVER_KEY, startHarness, type Harness, type Tenant } from "./support";

let h: Harness;
let t: Tenant;
beforeAll(async () => {
  h = await startHarness("gw-skeleton");
  t = await makeTenant(h.url);
});
afterAll(async () => {
  await h?.stop();
});

describe("edge basics", () => {
  it("GET /health answers ok with a minted request id", async () => {
    const r = await http(h.url, "GET", "/health");
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ status: "ok" });
    expect(r.headers.get("x-request-id")).toMatch(/^req_[0-9A-Z]{26}$/);
  });

  it("echoes a well-formed X-Request-Id and replaces a malformed one", async () => {
    const good = await http(h.url, "GET", "/health", { headers: { "x-request-id": "client-abc-12345" } });
    expect(good.headers.get("x-request-id")).toBe("client-abc-12345");
    const bad = await http(h.url, "GET", "/health", { headers: { "x-request-id": "bad id\twith spaces" } });
    expect(bad.headers.get("x-request-id")).toMatch(/^req_/);
    const short = await http(h.url, "GET", "/health", { headers: { "x-request-id": "x" } });
    expect(short.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("errors carry {detail, code, request_id} matching the header", async () => {
    const r = await http(h.url, "GET", "/nope");
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ detail: "Not Found", code: "NOT_FOUND", request_id: r.headers.get("x-request-id") });
  });

  it("the request id becomes the AMQP correlation id seen by the registry", async () => {
    const rid = `req_corr_${Date.now()}`;
    const r = await http(h.url, "POST", "/auth/token", { body: { api_key: "pk_definitely_not_a_key" }, headers: { "x-request-id": rid } });
    expect(r.status).toBe(401);
    expect(r.body).toEqual({ detail: "Not authenticated", code: "UNAUTHENTICATED", request_id: rid });
    const registryLines = h.logs.records().filter((l) => l.service === "registry" && l.request_id === rid);
    expect(registryLines.length).toBeGreaterThan(0);
  });
});

describe("System API", () => {
  it("POST /orgs: 401 without or with a wrong server key", async () => {
    expect((await http(h.url, "POST", "/orgs", { body: orgBody() })).status).toBe(401);
    const wrong = await http(h.url, "POST", "/orgs", { body: orgBody(), serverKey: `${SERVER_KEY}x` });
    expect(wrong.status).toBe(401);
    expect(wrong.body.detail).toBe("Not authenticated");
  });

  it("POST /orgs: 201 then 208 with the stored body", async () => {
    const body = orgBody();
    const a = await http(h.url, "POST", "/orgs", { body, serverKey: SERVER_KEY });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ org_id: body.org_id, name: body.name, abbreviation: body.abbreviation });
    expect(typeof a.body.created_at).toBe("string");
    const b = await http(h.url, "POST", "/orgs", { body: { ...body, name: "Changed" }, serverKey: SERVER_KEY });
    expect(b.status).toBe(208);
    expect(b.body).toEqual(a.body);
  });

  it("POST /orgs: 422 in pragma's list shape", async () => {
    const { org_id: _omit, ...rest } = orgBody();
    const r = await http(h.url, "POST", "/orgs", { body: { ...rest, admin_email: "nope" }, serverKey: SERVER_KEY });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe("VALIDATION_FAILED");
    expect(r.body.detail).toEqual(
      expect.arrayContaining([
        { loc: ["body", "org_id"], msg: "field required", type: "missing" },
        expect.objectContaining({ loc: ["body", "admin_email"] }),
      ]),
    );
  });

  it("POST /orgs/{id}/projects: 201 then 208 with X-Project-Id and X-Space-Id, no password", async () => {
    const org = orgBody();
    await http(h.url, "POST", "/orgs", { body: org, serverKey: SERVER_KEY });
    const body = projectBody();
    const a = await http(h.url, "POST", `/orgs/${org.org_id}/projects`, { body, serverKey: SERVER_KEY });
    expect(a.status).toBe(201);
    expect(a.headers.get("x-project-id")).toBe(a.body.project_id);
    expect(a.headers.get("x-space-id")).toBe(a.body.space_id);
    expect(a.text).not.toContain("s3cret-pw");
    const b = await http(h.url, "POST", `/orgs/${org.org_id}/projects`, { body, serverKey: SERVER_KEY });
    expect(b.status).toBe(208);
    expect(b.body.project_id).toBe(a.body.project_id);
    expect(b.headers.get("x-space-id")).toBe(a.body.space_id);
  });

  it("POST /orgs/{id}/projects for an unknown org: 404", async () => {
    const r = await http(h.url, "POST", `/orgs/${orgBody().org_id}/projects`, { body: projectBody(), serverKey: SERVER_KEY });
    expect(r.status).toBe(404);
  });

  it("POST /orgs/{id}/api-keys: allowed to an org admin token, 403 for a member, 404 for another org", async () => {
    const byAdmin = await http(h.url, "POST", `/orgs/${t.orgId}/api-keys`, { body: { name: "ci", role: "member" }, token: t.tokens.admin });
    expect(byAdmin.status).toBe(201);
    expect(byAdmin.body.api_key).toMatch(/^pk_/);
    expect(byAdmin.body.org_id).toBe(t.orgId);
    const byMember = await http(h.url, "POST", `/orgs/${t.orgId}/api-keys`, { body: { name: "x", role: "admin" }, token: t.tokens.member });
    expect(byMember.status).toBe(403);
    expect(byMember.body.code).toBe("FORBIDDEN");
    const other = await makeTenant(h.url);
    const cross = await http(h.url, "POST", `/orgs/${other.orgId}/api-keys`, { body: { name: "x", role: "admin" }, token: t.tokens.admin });
    expect(cross.status).toBe(404);
  });
});

describe("auth", () => {
  it("POST /auth/token issues an RS256 bearer token with the spec's claims", async () => {
    const r = await http(h.url, "POST", "/auth/token", { body: { api_key: t.keys.bound.api_key } });
    expect(r.status).toBe(200);
    expect(r.body.token_type).toBe("bearer");
    expect(r.body.expires_in).toBe(900);
    const [header, payload] = (r.body.access_token as string).split(".").slice(0, 2).map((p) => JSON.parse(Buffer.from(p, "base64url").toString("utf8")));
    expect(header).toMatchObject({ alg: "RS256", kid: "k-new", typ: "JWT" });
    expect(payload).toMatchObject({ sub: t.keys.bound.key_id, org_id: t.orgId, role: "member", project_id: t.projectId, space_id: t.spaceId, iss: "pragma-test", aud: "pragma-test-api" });
    expect(payload.exp - payload.iat).toBe(900);
    expect(typeof payload.jti).toBe("string");
  });

  it("POST /auth/token: 401 for an unknown key, 422 for a missing one", async () => {
    expect((await http(h.url, "POST", "/auth/token", { body: { api_key: "pk_nope" } })).status).toBe(401);
    const r = await http(h.url, "POST", "/auth/token", { body: {} });
    expect(r.status).toBe(422);
    expect(r.body.detail).toEqual([{ loc: ["body", "api_key"], msg: "field required", type: "missing" }]);
  });

  it("GET /auth/me describes the caller", async () => {
    const r = await http(h.url, "GET", "/auth/me", { token: t.tokens.bound });
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      user_id: t.keys.bound.key_id,
      email: null,
      organization_id: t.orgId,
      organization_name: t.orgName,
      role: "member",
      project_id: t.projectId,
      space_id: t.spaceId,
    });
  });

  it("GET /auth/me without a token: 401 Not authenticated", async () => {
    const r = await http(h.url, "GET", "/auth/me");
    expect(r.status).toBe(401);
    expect(r.body.detail).toBe("Not authenticated");
    expect(r.headers.get("www-authenticate")).toMatch(/^Bearer/);
  });
});

