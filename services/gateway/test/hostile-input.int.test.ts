import { z } from "zod";
import pg from "pg";
import { createLogger } from "@pragma/logger";
import { connectBroker, type Broker } from "@pragma/messaging";
import { CONFIG_MAX_DEPTH, RPC_QUEUES, TEXT_LIMITS, registryRequests, resourceRequests } from "@pragma/contracts";
import { http, makeTenant, orgBody, projectBody, SERVER_KEY, startHarness, type Harness, type Tenant } from "./support";

/**
 * Issue 27.7: bytes PostgreSQL cannot store, nesting no walk should have to survive and
 * unbounded strings are refused at the edge with 422 naming the field, and nothing of the
 * request is stored. Behind the gateway the registry and the store refuse the same input
 * with the same contract checks (a client of the bus that skips the gateway).
 */

let h: Harness;
let t: Tenant;
let db: pg.Client;
let bus: Broker;
beforeAll(async () => {
  h = await startHarness("gw-hostile", { store: true });
  t = await makeTenant(h.url);
  db = new pg.Client({ connectionString: h.env.databaseUrl });
  await db.connect();
  bus = await connectBroker({ url: h.env.amqpUrl, logger: createLogger({ service: "test-client", level: "silent" }), connectionName: "test-hostile" });
});
afterAll(async () => {
  await bus?.close();
  await db?.end();
  await h?.stop();
});

const nested = (levels: number): Record<string, unknown> => {
  let v: Record<string, unknown> = { leaf: "x" };
  for (let i = 1; i < levels; i++) v = { a: v };
  return v;
};
const count = async (sql: string, params: unknown[]) => Number((await db.query(sql, params)).rows[0].n);
const resourcesNamed = (name: string) => count("SELECT count(*)::int AS n FROM resource_store.resources WHERE name = $1", [name]);
const orgsWithId = (id: string) => count("SELECT count(*)::int AS n FROM registry.orgs WHERE id = $1", [id]);

const apply = (body: Record<string, unknown>) => http(h.url, "POST", "/resources/apply", { body, token: t.tokens.bound });
const base = (name: string) => ({ provider: "pragma", resource: "config", name });

/** 422 naming exactly `loc`, with no internals, and the process still answering. */
async function expect422(r: Awaited<ReturnType<typeof http>>, loc: (string | number)[], msg: RegExp) {
  expect(r.status).toBe(422);
  expect(r.body.code).toBe("VALIDATION_FAILED");
  expect(r.body.detail).toEqual(expect.arrayContaining([expect.objectContaining({ loc, msg: expect.stringMatching(msg) })]));
  expect((await http(h.url, "GET", "/health")).status).toBe(200);
}

describe("hostile bytes in a resource apply", () => {
  it.each([
    ["a NUL in a config value", "nul-value", { a: { b: "x\u0000y" } }, ["body", "config", "a", "b"], /NUL/],
    ["a NUL in a config key", "nul-key", { a: { "k\u0000": 1 } }, ["body", "config", "a", "k\u0000"], /key.*NUL/],
    ["a lone surrogate in a config value", "surrogate", { list: ["ok", "\ud800"] }, ["body", "config", "list", 1], /surrogate/],
    ["a lone low surrogate in a config key", "surrogate-key", { "\udc00": true }, ["body", "config", "\udc00"], /key.*surrogate/],
  ])("%s: 422 naming the field, nothing stored", async (_, name, config, loc, msg) => {
    await expect422(await apply({ ...base(name), config }), loc, msg);
    expect(await resourcesNamed(name)).toBe(0);
  });

  it("a NUL in a tag: 422 naming the tag", async () => {
    await expect422(await apply({ ...base("nul-tag"), tags: ["fine", "bad\u0000"] }), ["body", "tags", 1], /NUL/);
    expect(await resourcesNamed("nul-tag")).toBe(0);
  });

  it("a NUL in the name: 422 naming it", async () => {
    await expect422(await apply(base("bad\u0000name")), ["body", "name"], /NUL/);
  });

  it("tags over the limits: 422", async () => {
    await expect422(await apply({ ...base("long-tag"), tags: ["t".repeat(TEXT_LIMITS.tag + 1)] }), ["body", "tags", 0], /at most 128/);
    await expect422(await apply({ ...base("many-tags"), tags: Array.from({ length: TEXT_LIMITS.tags + 1 }, (_, i) => `t${i}`) }), ["body", "tags"], /at most 64/);
    expect(await resourcesNamed("long-tag")).toBe(0);
    expect(await resourcesNamed("many-tags")).toBe(0);
  });

  it(`config nested ${CONFIG_MAX_DEPTH} levels is stored; ${CONFIG_MAX_DEPTH + 1} is 422 naming where it goes too deep`, async () => {
    const ok = await apply({ ...base("deep-ok"), config: nested(CONFIG_MAX_DEPTH) });
    expect(ok.status).toBe(200);
    const r = await apply({ ...base("too-deep"), config: nested(CONFIG_MAX_DEPTH + 1) });
    await expect422(r, ["body", "config", ...Array(CONFIG_MAX_DEPTH).fill("a")], /deeper than 64/);
    expect(await resourcesNamed("too-deep")).toBe(0);
  });

  it("config nested 100,000 levels (what used to overflow the walks): 422, the gateway and store still serve", async () => {
    const raw = `{"provider":"pragma","resource":"config","name":"abyss","config":${'{"a":'.repeat(100_000)}1${"}".repeat(100_000)}}`;
    const r = await http(h.url, "POST", "/resources/apply", { rawBody: raw, token: t.tokens.bound });
    expect(r.status).toBe(422);
    expect(r.body.detail[0].msg).toMatch(/deeper than/);
    expect(r.body.detail[0].loc.slice(0, 3)).toEqual(["body", "config", "a"]);
    expect(await resourcesNamed("abyss")).toBe(0);
    expect((await apply({ ...base("after-abyss"), config: { a: 1 } })).status).toBe(200);
  });

  it("a NUL in a query value: 422 on the query, not 500", async () => {
    const r = await http(h.url, "GET", "/resources/?tags=a%00b", { token: t.tokens.bound });
    await expect422(r, ["query", "tags"], /NUL/);
  });
});

describe("hostile bytes and sizes in the System API", () => {
  it.each([
    ["a NUL in the org name", { name: "Acme\u0000" }, ["body", "name"], /NUL/],
    ["a lone surrogate in the address", { address: "1 Main \ud800St" }, ["body", "address"], /surrogate/],
    ["a 100,000-character org name", { name: "A".repeat(100_000) }, ["body", "name"], new RegExp(`at most ${TEXT_LIMITS.name}`)],
    ["an over-long admin email", { admin_email: `${"a".repeat(250)}@acme.test` }, ["body", "admin_email"], /at most 254/],
    ["an org id past the ULID range", { org_id: "8ZZZZZZZZZZZZZZZZZZZZZZZZZ" }, ["body", "org_id"], /valid ULID/],
  ])("%s: 422 naming the field, no org stored", async (_, overrides, loc, msg) => {
    const body = orgBody(overrides as Record<string, string>);
    await expect422(await http(h.url, "POST", "/orgs", { body, serverKey: SERVER_KEY }), loc, msg);
    expect(await orgsWithId(body.org_id)).toBe(0);
  });

  it("an org id past the ULID range in a path is 404, like any unknown org", async () => {
    const r = await http(h.url, "GET", "/orgs/8ZZZZZZZZZZZZZZZZZZZZZZZZZ", { serverKey: SERVER_KEY });
    expect(r.status).toBe(404);
  });

  it("a NUL in a project's name or a database field: 422 naming it, no project stored", async () => {
    const name = "Shop\u0000";
    await expect422(await http(h.url, "POST", `/orgs/${t.orgId}/projects`, { body: projectBody({ name }), serverKey: SERVER_KEY }), ["body", "name"], /NUL/);
    const db0 = { ...projectBody().database[0]!, host: "db\u0000host" };
    await expect422(await http(h.url, "POST", `/orgs/${t.orgId}/projects`, { body: projectBody({ database: [db0] }), serverKey: SERVER_KEY }), ["body", "database", 0, "host"], /NUL/);
    expect(await count("SELECT count(*)::int AS n FROM registry.projects WHERE org_id = $1", [t.orgId])).toBe(1);
  });
});

describe("behind the gateway: the registry and the store refuse the same input (defence in depth)", () => {
  // The bus client validates what it sends; these contracts let the hostile payload through so the services' own checks are what is tested.
  const unchecked = <C extends { request: z.ZodType }>(c: C) => ({ ...c, request: z.any() }) as unknown as C;
  const scope = () => ({ org_id: t.orgId, project_id: t.projectId, space_id: t.spaceId });

  it("the store: apply with a NUL in config or config too deep is VALIDATION_FAILED, nothing stored", async () => {
    for (const [name, config] of [
      ["store-nul", { k: "\u0000" }],
      ["store-deep", nested(CONFIG_MAX_DEPTH + 1)],
    ] as const) {
      await expect(bus.request(RPC_QUEUES.resourceStore, unchecked(resourceRequests.apply), { scope: scope(), body: { ...base(name), config } })).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
      expect(await resourcesNamed(name)).toBe(0);
    }
  });

  it("the registry: an org with a NUL or past the ULID range is VALIDATION_FAILED, nothing stored", async () => {
    for (const body of [orgBody({ name: "x\u0000" }), orgBody({ org_id: "8ZZZZZZZZZZZZZZZZZZZZZZZZZ" })]) {
      await expect(bus.request(RPC_QUEUES.registry, unchecked(registryRequests.createOrg), body)).rejects.toMatchObject({ code: "VALIDATION_FAILED" });
      expect(await orgsWithId(body.org_id)).toBe(0);
    }
  });
});
