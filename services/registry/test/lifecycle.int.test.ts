import { RPC_QUEUES, registryRequests as r, type Project } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { waitFor } from "@pragma/testing";
import { captureEvents, orgBody, projectBody, startHarness, type CapturedEvent, type Harness } from "./support";

let h: Harness;
let events: { events: CapturedEvent[]; stop(): Promise<void> };
let orgId: string;
let project: Project;

beforeAll(async () => {
  h = await startHarness("registry-life");
  events = await captureEvents(h.client, "test.registry-life.events");
  orgId = (await h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody())).org.org_id;
  project = (await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body: projectBody(), verify: false })).project;
});
afterAll(async () => {
  await events?.stop();
  await h?.stop();
});

async function rejection(p: Promise<unknown>): Promise<AppError> {
  const err = await p.then(
    () => new Error("expected the request to fail"),
    (e: unknown) => e,
  );
  if (err instanceof AppError) return err;
  throw err;
}

it("publishes org.created and project.created once, with tenant ids in headers", async () => {
  await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body: projectBody({ abbreviation: project.abbreviation }), verify: false });
  const created = await waitFor(async () => {
    const types = events.events.map((e) => e.type);
    return types.includes("registry.org.created.v1") && types.includes("registry.project.created.v1") && events.events;
  });
  const mine = created.filter((e) => e.headers["x-org-id"] === orgId);
  expect(mine.map((e) => e.type).sort()).toEqual(["registry.org.created.v1", "registry.project.created.v1"]);
  const pc = mine.find((e) => e.type === "registry.project.created.v1")!;
  expect(pc.headers).toMatchObject({ "x-org-id": orgId, "x-project-id": project.project_id, "x-space-id": project.space_id });
  expect(pc.payload).toEqual({ project });
});

it("lists the org's projects", async () => {
  const second = (await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body: projectBody(), verify: false })).project;
  const { projects } = await h.client.request(RPC_QUEUES.registry, r.listProjects, { org_id: orgId });
  expect(projects.map((p) => p.project_id)).toEqual(expect.arrayContaining([project.project_id, second.project_id]));
  expect((await rejection(h.client.request(RPC_QUEUES.registry, r.listProjects, { org_id: orgBody().org_id }))).code).toBe("NOT_FOUND");
});

it("creates and lists spaces, the default one first and marked", async () => {
  const space = await h.client.request(RPC_QUEUES.registry, r.createSpace, { org_id: orgId, project_id: project.project_id, body: { name: "staging" } });
  expect(space).toMatchObject({ project_id: project.project_id, org_id: orgId, name: "staging", description: null, is_default: false });
  expect(space.space_id).toMatch(/^spc_/);
  const { spaces } = await h.client.request(RPC_QUEUES.registry, r.listSpaces, { org_id: orgId, project_id: project.project_id });
  expect(spaces.map((s) => [s.space_id, s.is_default])).toEqual([
    [project.space_id, true],
    [space.space_id, false],
  ]);
  const scope = await h.client.request(RPC_QUEUES.registry, r.resolveScope, { org_id: orgId, project_id: project.project_id, space_id: space.space_id });
  expect(scope.space_id).toBe(space.space_id);
  const other = (await h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody())).org.org_id;
  expect((await rejection(h.client.request(RPC_QUEUES.registry, r.createSpace, { org_id: other, project_id: project.project_id, body: { name: "x" } }))).code).toBe("NOT_FOUND");
});

it("patches a project, replacing its databases, and publishes project.updated", async () => {
  const before = events.events.length;
  const patched = await h.client.request(RPC_QUEUES.registry, r.updateProject, {
    org_id: orgId,
    project_id: project.project_id,
    body: { description: null, database: projectBody({}, "new-pw").database.concat(projectBody({}, "second-pw").database.map((d) => ({ ...d, db_type: "mysql" as const, port: "3306" }))) },
    verify: false,
  });
  expect(patched).toMatchObject({ project_id: project.project_id, name: project.name, description: null, space_id: project.space_id });
  expect(patched.database.map((d) => d.db_type)).toEqual(["postgres", "mysql"]);
  const creds = await h.client.request(RPC_QUEUES.registry, r.getCredentials, { org_id: orgId, project_id: project.project_id });
  expect(creds.databases.map((d) => d.password)).toEqual(["new-pw", "second-pw"]);
  const updated = await waitFor(async () => events.events.slice(before).find((e) => e.type === "registry.project.updated.v1"));
  expect(updated.payload).toEqual({ project: patched });

  const other = (await h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody())).org.org_id;
  expect((await rejection(h.client.request(RPC_QUEUES.registry, r.updateProject, { org_id: other, project_id: project.project_id, body: { name: "x" }, verify: false }))).code).toBe("NOT_FOUND");
});

it("rejects an invalid database entry with pragma's 422 list naming the field", async () => {
  const bad = projectBody();
  bad.database[0]!.port = "70000";
  const err = await rejection(h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body: bad, verify: false }));
  expect(err.code).toBe("VALIDATION_FAILED");
  expect(err.detail).toEqual([expect.objectContaining({ loc: ["body", "database", 0, "port"] })]);
});

it("sets and clears the org rate limit", async () => {
  const set = await h.client.request(RPC_QUEUES.registry, r.updateOrg, { org_id: orgId, body: { rate_limit: { requests_per_second: 5, burst: 10 } } });
  expect(set.rate_limit).toEqual({ requests_per_second: 5, burst: 10 });
  expect((await h.client.request(RPC_QUEUES.registry, r.getOrg, { org_id: orgId })).rate_limit).toEqual({ requests_per_second: 5, burst: 10 });
  const cleared = await h.client.request(RPC_QUEUES.registry, r.updateOrg, { org_id: orgId, body: { rate_limit: null } });
  expect(cleared.rate_limit).toBeNull();
  expect((await rejection(h.client.request(RPC_QUEUES.registry, r.updateOrg, { org_id: orgBody().org_id, body: { rate_limit: null } }))).code).toBe("NOT_FOUND");
});

it("lists keys without secrets and revokes them so they no longer verify", async () => {
  const { api_key, key } = await h.client.request(RPC_QUEUES.registry, r.createApiKey, { org_id: orgId, body: { name: "deploy", role: "operator" } });
  await h.client.request(RPC_QUEUES.registry, r.verifyApiKey, { api_key });
  const { keys } = await h.client.request(RPC_QUEUES.registry, r.listApiKeys, { org_id: orgId });
  expect(keys).toEqual([key]);
  expect(JSON.stringify(keys)).not.toContain(api_key.slice(10));

  const revoked = await h.client.request(RPC_QUEUES.registry, r.revokeApiKey, { org_id: orgId, key_id: key.key_id });
  expect(revoked.revoked_at).not.toBeNull();
  const again = await h.client.request(RPC_QUEUES.registry, r.revokeApiKey, { org_id: orgId, key_id: key.key_id });
  expect(again.revoked_at).toBe(revoked.revoked_at);
  const err = await rejection(h.client.request(RPC_QUEUES.registry, r.verifyApiKey, { api_key }));
  expect([err.code, err.detail]).toEqual(["UNAUTHENTICATED", "Not authenticated"]);

  const other = (await h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody())).org.org_id;
  expect((await rejection(h.client.request(RPC_QUEUES.registry, r.revokeApiKey, { org_id: other, key_id: key.key_id }))).code).toBe("NOT_FOUND");
});

it("announces a revocation once (api-key.revoked) and lists recently revoked keys for the gateways", async () => {
  const since = new Date(Date.now() - 1_000).toISOString();
  const { key } = await h.client.request(RPC_QUEUES.registry, r.createApiKey, { org_id: orgId, body: { name: "ci", role: "member" } });
  const revoked = await h.client.request(RPC_QUEUES.registry, r.revokeApiKey, { org_id: orgId, key_id: key.key_id });
  await h.client.request(RPC_QUEUES.registry, r.revokeApiKey, { org_id: orgId, key_id: key.key_id });
  const isMine = (e: CapturedEvent) => e.type === "registry.api-key.revoked.v1" && (e.payload as { key_id: string }).key_id === key.key_id;
  const announced = await waitFor(async () => events.events.find(isMine), { message: "api-key.revoked relayed" });
  expect(announced.payload).toEqual({ key_id: key.key_id, org_id: orgId, revoked_at: revoked.revoked_at });
  expect(announced.headers["x-org-id"]).toBe(orgId);
  await new Promise((res) => setTimeout(res, 300));
  expect(events.events.filter(isMine)).toHaveLength(1);

  const { keys } = await h.client.request(RPC_QUEUES.registry, r.listRevokedApiKeys, { since });
  expect(keys).toContainEqual({ key_id: key.key_id, revoked_at: revoked.revoked_at });
  expect((await h.client.request(RPC_QUEUES.registry, r.listRevokedApiKeys, { since: new Date(Date.now() + 60_000).toISOString() })).keys).toEqual([]);
  const tooOld = await rejection(h.client.request(RPC_QUEUES.registry, r.listRevokedApiKeys, { since: new Date(Date.now() - 2 * 86_400_000).toISOString() }));
  expect(tooOld.code).toBe("VALIDATION_FAILED");
});
