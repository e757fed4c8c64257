import { newUlid } from "@pragma/ids";
// pg is a dependency of the services, not of the workspace root.
import { Client as PgClient } from "../../services/resource-store/node_modules/pg";
import { call, SERVER_KEY, startSystem, type RunningSystem } from "./system";
import { Client, createOrg, enc, rid, type Org } from "./tenant";

/**
 * Sensitive outputs (a role's password and connection string, a secret's value) read
 * "[REDACTED]" in every answer; an admin sees one resource's in clear with reveal=true.
 * The provider still gets real values through references.
 */
let sys: RunningSystem;
let org: Org;
let member: Client;
let operator: Client;
let admin: Client;
const roleName = `e2e_secret_${newUlid().slice(-8).toLowerCase()}`;
const roleRef = { provider: "postgres", resource: "role", name: "app" };

async function clientWithRole(role: string): Promise<Client> {
  const key = await call(sys.baseUrl, "POST", `/orgs/${org.orgId}/api-keys`, { headers: { "x-server-key": SERVER_KEY }, body: { name: role, role } });
  const tok = await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: key.body.api_key } });
  return new Client(sys.baseUrl, tok.body.access_token, org.projectId, org.spaceId);
}

beforeAll(async () => {
  sys = await startSystem("sensitive-outputs");
  org = await createOrg(sys.baseUrl);
  member = org.client();
  operator = await clientWithRole("operator");
  admin = await clientWithRole("admin");
  expect((await member.apply({ ...roleRef, config: { name: roleName }, lifecycle_state: "pending" })).status).toBe(200);
  await member.waitFor(rid(roleRef), "ready");
});

afterAll(async () => {
  if (member) {
    await member.del(rid(roleRef));
    await member.waitFor(rid(roleRef), "gone").catch(() => undefined);
  }
  await sys?.stop();
});

it("GET and list redact what the type marks sensitive and keep the rest", async () => {
  const got = await member.get(rid(roleRef));
  expect(got.status).toBe(200);
  expect(got.body.outputs).toMatchObject({ name: roleName, password: "[REDACTED]", connection_string: "[REDACTED]", port: 5432 });
  const listed = await member.list("provider=postgres");
  expect(listed.body[0].outputs).toMatchObject({ name: roleName, password: "[REDACTED]", connection_string: "[REDACTED]" });
  expect(JSON.stringify([got.body, listed.body])).not.toContain(`postgresql://${roleName}:`);
});

it("reveal=true is for admins: 403 for member and operator, the real values for an admin, which log in", async () => {
  for (const c of [member, operator]) {
    const r = await c.req("GET", `/resources/${enc(rid(roleRef))}?reveal=true`);
    expect([r.status, r.body.code]).toEqual([403, "FORBIDDEN"]);
  }
  const r = await admin.req("GET", `/resources/${enc(rid(roleRef))}?reveal=true`);
  expect(r.status).toBe(200);
  expect(r.headers.get("cache-control")).toBe("no-store");
  const conn = r.body.outputs.connection_string as string;
  expect(conn).toMatch(new RegExp(`^postgresql://${roleName}:`));
  const pg = new PgClient({ connectionString: conn });
  await pg.connect();
  try {
    expect((await pg.query("SELECT current_user AS u")).rows[0].u).toBe(roleName);
  } finally {
    await pg.end();
  }
  // Without reveal an admin sees the redacted form like everyone else.
  expect((await admin.get(rid(roleRef))).body.outputs.password).toBe("[REDACTED]");
});

it("a secret's value is redacted; a dependent still receives the real value through a reference", async () => {
  const secret = { provider: "pragma", resource: "secret", name: "api" };
  expect((await member.apply({ ...secret, config: { value: "tok-e2e-1234567" }, lifecycle_state: "pending" })).status).toBe(200);
  await member.waitFor(rid(secret), "ready");
  expect((await member.get(rid(secret))).body.outputs.value).toBe("[REDACTED]");

  // pragma/config echoes its resolved config as outputs: a key named like a secret is
  // caught by name even though the config type declares nothing sensitive.
  const user = { provider: "pragma", resource: "config", name: "uses-secret", config: { api_token: "${pragma/secret/api.outputs.value}", note: "n" } };
  expect((await member.apply({ ...user, lifecycle_state: "pending" })).status).toBe(200);
  await member.waitFor(rid(user), "ready");
  expect((await member.get(rid(user))).body.outputs).toEqual({ api_token: "[REDACTED]", note: "n" });
  expect((await admin.req("GET", `/resources/${enc(rid(user))}?reveal=true`)).body.outputs).toEqual({ api_token: "tok-e2e-1234567", note: "n" });
});
