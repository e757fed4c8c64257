/**
 * Revoking an API key revokes the tokens issued from it within a second, on every gateway
 * (api.md §3, §4.3; issue 20 case 8). Two gateway instances on one broker and Redis, the
 * real registry behind them; everything over HTTP.
 */
import { RPC_QUEUES, registryRequests } from "@pragma/contracts";
import { createLogger } from "@pragma/logger";
import { connectBroker } from "@pragma/messaging";
import { waitFor } from "@pragma/testing";
import { http, makeTenant, SERVER_KEY, startHarness, token, type Harness, type Tenant } from "./support";

let h: Harness;
let t: Tenant;
let other: string;

beforeAll(async () => {
  h = await startHarness("gw-revocation");
  other = await h.addGateway();
  t = await makeTenant(h.url);
});
afterAll(async () => {
  await h?.stop();
});

async function newKey(name: string): Promise<{ key_id: string; api_key: string }> {
  const k = await http(h.url, "POST", `/orgs/${t.orgId}/api-keys`, { serverKey: SERVER_KEY, body: { name, role: "member" } });
  expect(k.status).toBe(201);
  return k.body;
}

const me = async (base: string, tok: string) => (await http(base, "GET", "/auth/me", { token: tok })).status;

/** Polls until `base` refuses `tok`; returns how long after `since` that was first seen. */
async function refusedAfter(base: string, tok: string, since: number): Promise<number> {
  await waitFor(async () => (await me(base, tok)) === 401, { timeoutMs: 5_000, intervalMs: 10, message: `${base} refuses the revoked key's token` });
  return Date.now() - since;
}

it("a token works on both gateways; once its key is revoked both refuse it within a second; another key's token still works", async () => {
  const leaving = await newKey("leaving");
  const staying = await newKey("staying");
  const revokedTok = await token(h.url, leaving.api_key);
  const keptTok = await token(other, staying.api_key);
  for (const base of [h.url, other]) {
    expect(await me(base, revokedTok)).toBe(200);
    expect(await me(base, keptTok)).toBe(200);
  }

  const del = await http(h.url, "DELETE", `/orgs/${t.orgId}/api-keys/${leaving.key_id}`, { token: t.tokens.admin });
  expect(del.status).toBe(200);
  expect(del.body.revoked_at).toBeTruthy();
  const answered = Date.now();

  // The gateway that revoked refuses at once; the other hears the registry's announcement.
  expect(await me(h.url, revokedTok)).toBe(401);
  const [first, second] = await Promise.all([refusedAfter(h.url, revokedTok, answered), refusedAfter(other, revokedTok, answered)]);
  expect(first).toBeLessThan(1_000);
  expect(second).toBeLessThan(1_000);
  const body = await http(other, "GET", "/auth/me", { token: revokedTok });
  expect(body.body).toMatchObject({ detail: "Not authenticated", code: "UNAUTHENTICATED" });

  for (const base of [h.url, other]) expect(await me(base, keptTok)).toBe(200);
  // No new token for the revoked key either; revoking again changes nothing.
  expect((await http(other, "POST", "/auth/token", { body: { api_key: leaving.api_key } })).status).toBe(401);
  expect((await http(other, "DELETE", `/orgs/${t.orgId}/api-keys/${leaving.key_id}`, { serverKey: SERVER_KEY })).body.revoked_at).toBe(del.body.revoked_at);
  expect(await me(other, revokedTok)).toBe(401);
});

it("a gateway started after the revocation refuses the key's tokens from its first request", async () => {
  const leaving = await newKey("leaving-early");
  const tok = await token(h.url, leaving.api_key);
  expect((await http(other, "DELETE", `/orgs/${t.orgId}/api-keys/${leaving.key_id}`, { token: t.tokens.admin })).status).toBe(200);
  const late = await h.addGateway();
  expect(await me(late, tok)).toBe(401);
  expect(await me(late, t.tokens.member)).toBe(200);
});

it("revoked through the registry alone (no gateway saw the DELETE): every gateway refuses within a second", async () => {
  const leaving = await newKey("leaving-quietly");
  const tok = await token(h.url, leaving.api_key);
  for (const g of h.gateways) expect(await me(g.url, tok)).toBe(200);
  const client = await connectBroker({ url: h.env.amqpUrl, logger: createLogger({ service: "test-client", level: "silent" }), connectionName: "test-client" });
  try {
    await client.request(RPC_QUEUES.registry, registryRequests.revokeApiKey, { org_id: t.orgId, key_id: leaving.key_id });
  } finally {
    await client.close();
  }
  const answered = Date.now();
  const times = await Promise.all(h.gateways.map((g) => refusedAfter(g.url, tok, answered)));
  for (const ms of times) expect(ms).toBeLessThan(1_000);
});

it("fails closed: a gateway that cannot read the revoked keys answers 503, never lets a token through unchecked", async () => {
  // Last in this file: the registry goes away for good.
  await h.registry.stop();
  const blind = await h.addGateway({ RPC_TIMEOUT_MS: "500" });
  const r = await http(blind, "GET", "/auth/me", { token: t.tokens.member });
  expect(r.status).toBe(503);
  expect(r.body.code).toBe("UNAVAILABLE");
  // A gateway that read the list before keeps serving from it (the announcements still reach it).
  expect((await http(other, "GET", "/auth/me", { token: t.tokens.member })).status).not.toBe(503);
});
