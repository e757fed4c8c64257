import { startSystem, type RunningSystem } from "./system";
import { createOrg, rid, type Client } from "./tenant";

/** A resource in org A / project P / space S is invisible from any other org, project or space. */
let sys: RunningSystem;
beforeAll(async () => {
  sys = await startSystem("res-tenancy");
});
afterAll(async () => {
  await sys?.stop();
});

it("tenant matrix: 404 by id, never listed, delete is a no-op, the same name is a separate resource", async () => {
  const a = await createOrg(sys.baseUrl);
  const b = await createOrg(sys.baseUrl);
  const home = a.client();
  const body = { provider: "pragma", resource: "config", name: "shared-name", config: { owner: "home" }, tags: ["t"] };
  const id = rid(body);
  expect((await home.apply({ ...body, lifecycle_state: "pending" })).status).toBe(200);
  await home.waitFor(id, "ready");

  const p2 = await a.addProject("other");
  const s2 = await a.addSpace(a.projectId, "second");
  const others: [string, Client][] = [
    ["another org", b.client()],
    ["another project of the same org", a.client(p2.projectId, p2.spaceId)],
    ["another space of the same project", a.client(a.projectId, s2)],
  ];
  for (const [label, other] of others) {
    const where = `${label}`;
    expect([where, (await other.get(id)).status]).toEqual([where, 404]);
    expect([where, (await other.req("GET", `/resources/${encodeURIComponent(id)}/status`)).status]).toEqual([where, 404]);
    expect([where, (await other.req("GET", `/resources/${encodeURIComponent(id)}/logs`)).status]).toEqual([where, 404]);
    expect([where, (await other.req("GET", `/resources/${encodeURIComponent(id)}/health`)).status]).toEqual([where, 404]);
    expect([where, (await other.list()).body]).toEqual([where, []]);
    expect([where, (await other.list("tags=t")).body]).toEqual([where, []]);
    expect([where, (await other.del(id)).status]).toEqual([where, 204]);
    // A dependency on the other tenant's resource does not resolve either.
    const dep = await other.apply({ provider: "pragma", resource: "config", name: "needs", config: { x: "${pragma/config/shared-name.outputs.owner}" }, lifecycle_state: "pending" });
    expect([where, dep.status, dep.body.detail]).toEqual([where, 422, { message: "Dependency validation failed", missing_dependencies: [id] }]);
    // Same id in another scope is its own resource, not a collision.
    const mine = await other.apply({ ...body, config: { owner: label } });
    expect([where, mine.status]).toEqual([where, 200]);
  }
  // Another org naming project P in its header does not get in either.
  const cross = await b.client(a.projectId, a.spaceId).get(id);
  expect(cross.status).toBe(404);

  const still = await home.get(id);
  expect(still.body).toMatchObject({ lifecycle_state: "ready", config: { owner: "home" } });
  expect((await home.list()).body.map((r: { id: string }) => r.id)).toEqual([id]);
});
