import { createHmac, randomUUID } from "node:crypto";
import jwt from "jsonwebtoken";
import { generateJwtKey } from "../src/config";
import { http, JWT_KEYS, makeTenant, SERVER_KEY, startHarness, token, type Harness, type Tenant } from "./support";

let h: Harness;
let t: Tenant;
beforeAll(async () => {
  h = await startHarness("gw-edge");
  t = await makeTenant(h.url);
});
afterAll(async () => {
  await h?.stop();
});

const noStack = (text: string) => {
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toMatch(/node_modules|\.ts:\d+/);
};

describe("HTTP edge rules", () => {
  it("malformed JSON: 400 without internals", async () => {
    const r = await http(h.url, "POST", "/orgs", { rawBody: '{"org_id": ', serverKey: SERVER_KEY });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ code: "BAD_REQUEST", detail: "Malformed JSON in request body" });
    expect(r.body.request_id).toBe(r.headers.get("x-request-id"));
    noStack(r.text);
  });

  it("body over 1 MiB: 413", async () => {
    const big = JSON.stringify({ api_key: "x".repeat(1024 * 1024 + 10) });
    const r = await http(h.url, "POST", "/auth/token", { rawBody: big });
    expect(r.status).toBe(413);
    expect(r.body.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("a body just under 1 MiB is parsed (and then validated)", async () => {
    const r = await http(h.url, "POST", "/auth/token", { rawBody: JSON.stringify({ api_key: "x".repeat(1000 * 1000) }) });
    expect(r.status).toBe(422);
  });

  it("unknown route: 404; wrong method: 405 with Allow", async () => {
    expect((await http(h.url, "GET", "/does/not/exist")).status).toBe(404);
    const a = await http(h.url, "DELETE", "/auth/token");
    expect(a.status).toBe(405);
    expect(a.headers.get("allow")).toBe("POST");
    expect(a.body.code).toBe("METHOD_NOT_ALLOWED");
    const b = await http(h.url, "PUT", `/orgs/${t.orgId}`);
    expect(b.status).toBe(405);
    expect(b.headers.get("allow")).toBe("GET, HEAD, PATCH");
  });

  it("every response carries X-Request-Id, errors included", async () => {
    for (const r of [await http(h.url, "GET", "/health"), await http(h.url, "GET", "/nope"), await http(h.url, "GET", "/auth/me")]) {
      expect(r.headers.get("x-request-id")).toBeTruthy();
    }
  });
});

describe("bearer tokens over HTTP", () => {
  const now = () => Math.floor(Date.now() / 1000);
  const claims = (o: Record<string, unknown> = {}) => ({
    sub: t.keys.admin.key_id,
    org_id: t.orgId,
    role: "admin",
    iss: "pragma-test",
    aud: "pragma-test-api",
    iat: now(),
    exp: now() + 300,
    jti: randomUUID(),
    ...o,
  });
  const signed = (payload: object, key = JWT_KEYS[1]!, kid = key.kid) =>
    jwt.sign(payload, key.privateKey!, { algorithm: "RS256", header: { alg: "RS256", kid } as jwt.JwtHeader });
  const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString("base64url");

  it("a well-signed forged-by-us token works (control for the cases below)", async () => {
    expect((await http(h.url, "GET", "/auth/me", { token: signed(claims()) })).status).toBe(200);
    // and one signed by the older, still-configured key
    expect((await http(h.url, "GET", "/auth/me", { token: signed(claims(), JWT_KEYS[0]!) })).status).toBe(200);
  });

  const pem = () => JWT_KEYS[1]!.publicKey.export({ type: "spki", format: "pem" }) as string;
  const cases: [string, () => string][] = [
    ["alg none", () => `${b64({ alg: "none", typ: "JWT", kid: "k-new" })}.${b64(claims())}.`],
    [
      "HS256 with the public key",
      () => {
        const head = `${b64({ alg: "HS256", typ: "JWT", kid: "k-new" })}.${b64(claims())}`;
        return `${head}.${createHmac("sha256", pem()).update(head).digest("base64url")}`;
      },
    ],
    ["wrong key", () => signed(claims(), generateJwtKey("k-new"))],
    ["unknown kid", () => signed(claims(), JWT_KEYS[1]!, "k-gone")],
    ["expired", () => signed(claims({ iat: now() - 900, exp: now() - 60 }))],
    ["nbf in the future", () => signed(claims({ nbf: now() + 300 }))],
    ["wrong iss", () => signed(claims({ iss: "evil" }))],
    ["wrong aud", () => signed(claims({ aud: "evil" }))],
    [
      "tampered payload",
      () => {
        const [hd, , s] = signed(claims({ role: "member" })).split(".");
        return `${hd}.${b64(claims({ role: "admin" }))}.${s}`;
      },
    ],
    ["garbled", () => "not-a-jwt"],
  ];
  it.each(cases)("%s: 401 Not authenticated", async (_name, make) => {
    const r = await http(h.url, "GET", "/auth/me", { token: make() });
    expect(r.status).toBe(401);
    expect(r.body).toMatchObject({ detail: "Not authenticated", code: "UNAUTHENTICATED" });
  });

  it("missing or malformed Authorization header: 401", async () => {
    for (const authorization of ["", "Bearer", "Bearer ", "Basic abc", `Token ${signed(claims())}`, `Bearer ${signed(claims())} extra`]) {
      const r = await http(h.url, "GET", "/auth/me", { headers: { authorization } });
      expect(r.status).toBe(401);
    }
  });

  it("client-sent identity headers are ignored", async () => {
    const other = await makeTenant(h.url);
    const spoof = { "x-org-id": other.orgId, "x-role": "admin", "x-user-id": other.keys.admin.key_id, "x-organization-id": other.orgId };
    const me = await http(h.url, "GET", "/auth/me", { token: t.tokens.member, headers: spoof });
    expect(me.body).toMatchObject({ organization_id: t.orgId, role: "member", user_id: t.keys.member.key_id });
    const escalate = await http(h.url, "POST", `/orgs/${t.orgId}/api-keys`, { token: t.tokens.member, headers: spoof, body: { name: "x", role: "admin" } });
    expect(escalate.status).toBe(403);
    const cross = await http(h.url, "GET", `/orgs/${other.orgId}/api-keys`, { token: t.tokens.admin, headers: spoof });
    expect(cross.status).toBe(404);
  });
});

describe("roles", () => {
  it("admin manages keys and projects; operator and member get 403", async () => {
    expect((await http(h.url, "GET", `/orgs/${t.orgId}/api-keys`, { token: t.tokens.admin })).status).toBe(200);
    expect((await http(h.url, "GET", `/orgs/${t.orgId}/projects`, { token: t.tokens.admin })).status).toBe(200);
    for (const role of ["operator", "member"] as const) {
      expect((await http(h.url, "GET", `/orgs/${t.orgId}/api-keys`, { token: t.tokens[role] })).status).toBe(403);
      expect((await http(h.url, "GET", `/orgs/${t.orgId}/projects`, { token: t.tokens[role] })).status).toBe(403);
    }
  });

  it("key listings never include secrets", async () => {
    const r = await http(h.url, "GET", `/orgs/${t.orgId}/api-keys`, { serverKey: SERVER_KEY });
    expect(r.status).toBe(200);
    expect(r.body.length).toBeGreaterThanOrEqual(4);
    for (const k of Object.values(t.keys)) expect(r.text).not.toContain(k.api_key);
  });

  it("org rate-limit changes need the server key, not an org admin", async () => {
    const body = { rate_limit: { requests_per_second: 1000, burst: 1000 } };
    expect((await http(h.url, "PATCH", `/orgs/${t.orgId}`, { token: t.tokens.admin, body })).status).toBe(401);
  });
});

describe("revoked keys", () => {
  it("a revoked key cannot get a token, and the tokens it already had are refused at once", async () => {
    const k = await http(h.url, "POST", `/orgs/${t.orgId}/api-keys`, { serverKey: SERVER_KEY, body: { name: "leaving", role: "member" } });
    const tok = await token(h.url, k.body.api_key);
    expect((await http(h.url, "GET", "/auth/me", { token: tok })).status).toBe(200);
    const del = await http(h.url, "DELETE", `/orgs/${t.orgId}/api-keys/${k.body.key_id}`, { token: t.tokens.admin });
    expect(del.status).toBe(200);
    expect(del.body.revoked_at).toBeTruthy();
    expect((await http(h.url, "POST", "/auth/token", { body: { api_key: k.body.api_key } })).status).toBe(401);
    // Not at expiry: at once (every gateway within a second: test/revocation.int.test.ts).
    expect((await http(h.url, "GET", "/auth/me", { token: tok })).status).toBe(401);
  });
});
