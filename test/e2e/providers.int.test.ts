import { scaffoldFiles } from "../../packages/cli/src/providers/scaffold";
import { waitFor } from "@pragma/testing";
import { startSystem, type RunningSystem } from "./system";
import { createOrg, rid, type Org } from "./tenant";
import { adminToken, api, pushDir, waitForBuild, writePackage } from "./pushed";

/**
 * api.md §6, the path a user takes: scaffold → push → build → deploy → apply a resource
 * of the new type → ready with outputs → update → delete → gone → cascade delete of the
 * provider. Another org sees none of it.
 */
describe("pushed providers end to end", () => {
  let sys: RunningSystem;
  let org: Org;
  let other: Org;
  let token: string;
  let otherToken: string;
  beforeAll(async () => {
    sys = await startSystem("providers-e2e");
    org = await createOrg(sys.baseUrl);
    other = await createOrg(sys.baseUrl);
    token = await adminToken(sys.baseUrl, org.orgId);
    otherToken = await adminToken(sys.baseUrl, other.orgId);
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it("scaffold, push, build, deploy, apply, update, delete, cascade delete", async () => {
    const req = api(sys.baseUrl, token);
    const dir = writePackage(scaffoldFiles("notes"));
    const pushed = await pushDir(sys.baseUrl, token, "notes", dir, { deploy: true });
    expect(pushed.status).toBe(202);
    expect(pushed.body).toMatchObject({ status: "pending", version: expect.stringMatching(/^\d{8}\.\d{6}$/) });
    const version = pushed.body.version as string;

    const build = await waitForBuild(sys.baseUrl, token, "notes", version);
    const log = await req("GET", `/providers/notes/builds/${version}/logs`);
    expect({ status: build.status, error: build.error_message }).toEqual({ status: "success", error: null });
    expect(log.headers.get("content-type")).toMatch(/text\/plain/);
    expect(log.text).toMatch(/types: note/);

    // deploy=true: deployed when the build succeeded.
    const dep = await waitFor(
      async () => {
        const d = await req("GET", "/providers/notes/deployment");
        return d.status === 200 && d.body.healthy ? d.body : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200, message: "deployment never healthy" },
    );
    expect(dep).toMatchObject({ version, status: "deployed", healthy: true });

    const list = await req("GET", "/providers");
    expect(list.body).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ provider_id: "pragma", builtin: true }),
        expect.objectContaining({ provider_id: "notes", current_version: version, deployment_status: "deployed" }),
      ]),
    );

    const c = org.client();
    const types = await c.req("GET", "/resources/types?provider=notes");
    expect(types.body.map((t: { resource: string }) => t.resource)).toEqual(["note"]);
    expect(types.body[0].schema.required).toEqual(expect.arrayContaining(["title", "priority", "archived"]));

    // Apply validates against the pushed schema.
    const bad = await c.apply({ provider: "notes", resource: "note", name: "n1", config: { title: "x" }, lifecycle_state: "pending" });
    expect(bad.status).toBe(422);

    const ref = { provider: "notes", resource: "note", name: "n1" };
    const applied = await c.apply({ ...ref, config: { title: "Hello World", priority: 2, archived: false }, lifecycle_state: "pending" });
    expect(applied.status).toBe(200);
    const ready = await c.waitFor(rid(ref), "ready", 30_000);
    expect(ready.body.outputs).toEqual({ slug: "hello-world", priority: 2, archived: false });

    await c.apply({ ...ref, config: { title: "Second Title", priority: 3, archived: true }, lifecycle_state: "pending" });
    await waitFor(
      async () => {
        const r = await c.get(rid(ref));
        return r.body.lifecycle_state === "ready" && r.body.outputs.slug === "second-title" ? r : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: "update never applied" },
    );

    expect((await c.del(rid(ref))).status).toBe(200);
    await c.waitFor(rid(ref), "gone", 30_000);

    // Cascade: a provider with resources is 409 without it; with it, the delete hooks run and everything goes.
    const ref2 = { provider: "notes", resource: "note", name: "n2" };
    await c.apply({ ...ref2, config: { title: "Two", priority: 1, archived: false }, lifecycle_state: "pending" });
    await c.waitFor(rid(ref2), "ready", 30_000);
    const refused = await req("DELETE", "/providers/notes");
    expect(refused.status).toBe(409);
    expect(refused.body.detail).toMatch(/1 resource/);
    const cascaded = await req("DELETE", "/providers/notes?cascade=true");
    expect(cascaded.status).toBe(200);
    expect(cascaded.body).toMatchObject({ provider_id: "notes", resources_deleted: 1 });
    await c.waitFor(rid(ref2), "gone", 30_000);
    await waitFor(async () => ((await req("GET", "/providers/notes/builds")).status === 404 ? true : undefined), {
      timeoutMs: 15_000,
      intervalMs: 200,
      message: "provider never finalized",
    });
    expect((await req("GET", "/providers/notes/deployment")).status).toBe(404);
    expect((await c.req("GET", "/resources/types?provider=notes")).body).toEqual([]);
  });

  it("another org never sees, deploys, deletes or uses a provider", async () => {
    const dir = writePackage(scaffoldFiles("secretive"));
    const pushed = await pushDir(sys.baseUrl, token, "secretive", dir, { deploy: true });
    expect(pushed.status).toBe(202);
    const v = pushed.body.version as string;
    expect((await waitForBuild(sys.baseUrl, token, "secretive", v)).status).toBe("success");

    const them = api(sys.baseUrl, otherToken);
    for (const [method, p] of [
      ["GET", "/providers/secretive/builds"],
      ["GET", `/providers/secretive/builds/${v}`],
      ["GET", `/providers/secretive/builds/${v}/logs`],
      ["GET", "/providers/secretive/deployment"],
      ["POST", "/providers/secretive/deploy"],
      ["DELETE", "/providers/secretive?cascade=true"],
    ] as const) {
      const r = await them(method, p);
      expect({ method, p, status: r.status }).toEqual({ method, p, status: 404 });
    }
    const theirList = await them("GET", "/providers");
    expect(theirList.body.map((p: { provider_id: string }) => p.provider_id)).not.toContain("secretive");
    const oc = other.client();
    expect((await oc.req("GET", "/resources/types?provider=secretive")).body).toEqual([]);
    const applied = await oc.apply({ provider: "secretive", resource: "note", name: "x", config: { title: "a", priority: 1, archived: false }, lifecycle_state: "pending" });
    expect(applied.status).toBe(422);
    // The owner still has it.
    expect((await api(sys.baseUrl, token)("GET", "/providers/secretive/builds")).body).toHaveLength(1);
  });

  it("reserves the built-in ids and validates the provider id", async () => {
    const dir = writePackage(scaffoldFiles("pragma"));
    const r = await pushDir(sys.baseUrl, token, "pragma", dir);
    expect(r.status).toBe(409);
    expect((await pushDir(sys.baseUrl, token, "Bad_Id", dir)).status).toBe(422);
    const member = org.client();
    const asMember = await fetch(`${sys.baseUrl}/providers/anything/push`, { method: "POST", headers: { authorization: `Bearer ${member.token}` } });
    expect(asMember.status).toBe(403);
  });
});
