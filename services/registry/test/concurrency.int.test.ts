import { Client } from "pg";
import { RPC_QUEUES, registryRequests as r } from "@pragma/contracts";
import { createOrg } from "../src/domain/orgs/create-org";
import { createProject } from "../src/domain/projects/create-project";
import type { RegistryDeps } from "../src/domain/ports";
import { createPool, createPrismaClient, type Db } from "../src/data/prisma";
import type { Pool } from "pg";
import { buildDeps } from "../src/deps";
import { waitFor } from "@pragma/testing";
import { captureEvents, orgBody, projectBody, startHarness, type CapturedEvent, type Harness } from "./support";

let h: Harness;
beforeAll(async () => {
  h = await startHarness("registry-race");
});
afterAll(async () => {
  await h?.stop();
});

async function count(sql: string, params: unknown[]): Promise<number> {
  const pg = new Client({ connectionString: h.env.databaseUrl });
  await pg.connect();
  try {
    return Number((await pg.query<{ n: string }>(sql, params)).rows[0]!.n);
  } finally {
    await pg.end();
  }
}

it("50 identical org creates at once: one created, 49 not, one row", async () => {
  const body = orgBody();
  const results = await Promise.all(Array.from({ length: 50 }, () => h.client.request(RPC_QUEUES.registry, r.createOrg, body)));
  expect(results.filter((x) => x.created)).toHaveLength(1);
  expect(results.filter((x) => !x.created)).toHaveLength(49);
  expect(new Set(results.map((x) => JSON.stringify(x.org))).size).toBe(1);
  expect(await count("SELECT count(*) AS n FROM registry.orgs WHERE id = $1", [body.org_id])).toBe(1);
});

it("50 identical project creates at once: one created, 49 not, one project and one default space", async () => {
  const orgId = (await h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody())).org.org_id;
  const body = projectBody();
  const results = await Promise.all(Array.from({ length: 50 }, () => h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body, verify: false })));
  expect(results.filter((x) => x.created)).toHaveLength(1);
  expect(new Set(results.map((x) => `${x.project.project_id}/${x.project.space_id}`)).size).toBe(1);
  expect(await count("SELECT count(*) AS n FROM registry.projects WHERE org_id = $1", [orgId])).toBe(1);
  expect(await count("SELECT count(*) AS n FROM registry.spaces WHERE org_id = $1", [orgId])).toBe(1);
  expect(await count("SELECT count(*) AS n FROM registry.project_databases d JOIN registry.projects p ON p.id = d.project_id WHERE p.org_id = $1", [orgId])).toBe(1);
});

/**
 * Over the bus the pre-read usually wins the race, so the unique-violation path is
 * only sometimes taken. Here the pre-read is blinded, as if a competitor committed
 * between it and the insert, so that path runs every time.
 */
describe("losing the race after the pre-read", () => {
  let pool: Pool;
  let db: Db;
  let deps: RegistryDeps;
  let events: { events: CapturedEvent[]; stop(): Promise<void> };
  beforeAll(async () => {
    events = await captureEvents(h.client, "test.registry-race.events");
    pool = createPool(h.env.databaseUrl);
    db = createPrismaClient(pool, h.config.databaseSchema);
    // Without a relay of its own: the harness's registry relays this outbox too.
    deps = buildDeps(h.config, db);
  });
  afterAll(async () => {
    await events?.stop();
    await db?.$disconnect();
    await pool?.end();
  });

  it("createOrg re-reads the winner instead of failing, and does not publish again", async () => {
    const body = orgBody();
    expect((await createOrg(deps, body)).created).toBe(true);
    const blind = { ...deps, orgs: Object.create(deps.orgs) as RegistryDeps["orgs"] };
    let calls = 0;
    blind.orgs.findById = async (id) => (++calls === 1 ? null : deps.orgs.findById(id));
    const res = await createOrg(blind, { ...body, name: "late" });
    expect(res.created).toBe(false);
    expect(res.org.name).toBe("Acme");
    const created = (e: CapturedEvent) => e.type === "registry.org.created.v1" && e.headers["x-org-id"] === body.org_id;
    await waitFor(async () => events.events.some(created), { message: "org.created relayed" });
    await new Promise((r) => setTimeout(r, 300));
    expect(events.events.filter(created)).toHaveLength(1);
  });

  it("createOrg with a free id but a taken abbreviation is a CONFLICT", async () => {
    const a = orgBody();
    await createOrg(deps, a);
    await expect(createOrg(deps, orgBody({ abbreviation: a.abbreviation }))).rejects.toMatchObject({ code: "CONFLICT" });
  });

  it("createProject re-reads the winner, default space included", async () => {
    const orgId = (await createOrg(deps, orgBody())).org.org_id;
    const body = projectBody();
    const first = await createProject(deps, { org_id: orgId, body, verify: false });
    const blind = { ...deps, projects: Object.create(deps.projects) as RegistryDeps["projects"] };
    let calls = 0;
    blind.projects.findByAbbreviation = async (o, a) => (++calls === 1 ? null : deps.projects.findByAbbreviation(o, a));
    const res = await createProject(blind, { org_id: orgId, body, verify: false });
    expect(res).toEqual({ created: false, project: first.project });
  });
});
