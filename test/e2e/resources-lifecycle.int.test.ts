import { waitFor } from "@pragma/testing";
import { startSystem, type RunningSystem } from "./system";
import { tapBus, type BusTap } from "./bus-tap";
import { createOrg, rid, type Client, type Org } from "./tenant";

/** Spec §4 through the gateway: the transition table, every 409 and 422, list, status, delete. */
let sys: RunningSystem;
let tap: BusTap;
let org: Org;
let c: Client;
beforeAll(async () => {
  // The gateway's resource cache keeps answers for 10 minutes here, so every state change
  // these tests wait for over GET /resources/{id} (a worker's result, above all) must reach
  // it as the store's change notification, not by expiry.
  sys = await startSystem("res-lifecycle", { RESOURCE_CACHE_MS: "600000" });
  tap = await tapBus(sys.env.amqpUrl);
  org = await createOrg(sys.baseUrl);
  c = org.client();
});
afterAll(async () => {
  await tap?.close();
  await sys?.stop();
});

const cfg = (name: string, config: Record<string, unknown> = { a: 1 }, extra: Record<string, unknown> = {}) => ({ provider: "pragma", resource: "config", name, config, ...extra });
const BUSY = "Resource is currently being processed and cannot be modified";
const scopeOf = (r: { id: string; pending_event_id: string }) => ({ event_id: r.pending_event_id, resource_id: r.id, org_id: org.orgId, project_id: c.projectId, space_id: c.spaceId });

describe("transition table", () => {
  it("new without a state, or with draft: stored as draft, no event", async () => {
    for (const body of [cfg("d-none"), cfg("d-draft", { a: 1 }, { lifecycle_state: "draft" })]) {
      const r = await c.apply(body);
      expect(r.status).toBe(200);
      expect(r.body).toMatchObject({ lifecycle_state: "draft", pending_event_id: null, provisioned: false, outputs: {}, error: null });
    }
  });

  it("new + pending → CREATE → ready; tags-only keeps ready; config change → draft (provisioned); pending again → UPDATE with previous_config", async () => {
    const id = rid(cfg("life"));
    const a = await c.apply(cfg("life", { v: 1 }, { lifecycle_state: "pending", tags: ["x"] }));
    expect(a.status).toBe(200);
    expect(a.body).toMatchObject({ id, lifecycle_state: "pending", provisioned: false });
    expect(a.body.pending_event_id).toMatch(/^evt_/);
    const ready = await c.waitFor(id, "ready");
    expect(ready.body).toMatchObject({ outputs: { v: 1 }, provisioned: true, error: null, pending_event_id: null });
    const createdAt = ready.body.created_at;

    const tagsOnly = await c.apply(cfg("life", { v: 1 }, { tags: ["x", "y"] }));
    expect(tagsOnly.body).toMatchObject({ lifecycle_state: "ready", tags: ["x", "y"] });

    const changed = await c.apply(cfg("life", { v: 2 }));
    expect(changed.body).toMatchObject({ lifecycle_state: "draft", provisioned: true, created_at: createdAt, outputs: { v: 1 } });

    const again = await c.apply(cfg("life", { v: 2 }, { lifecycle_state: "pending" }));
    expect(again.body.lifecycle_state).toBe("pending");
    const ready2 = await c.waitFor(id, "ready");
    expect(ready2.body.outputs).toEqual({ v: 2 });
    expect(ready2.body.created_at).toBe(createdAt);
    expect(new Date(ready2.body.updated_at).getTime()).toBeGreaterThan(new Date(createdAt).getTime());

    const events = await waitFor(async () => (tap.eventsFor(id).length >= 2 ? tap.eventsFor(id) : undefined), { message: "two events on the tap" });
    expect(events.map((e) => e.event_type)).toEqual(["CREATE", "UPDATE"]);
    expect(events[0]!.previous_config).toBeNull();
    expect(events[1]!.previous_config).toEqual({ v: 1 });
    expect(events[1]!.config).toEqual({ v: 2 });
  });

  it("asking for processing, ready or failed is 409 naming both states; an unknown state is 422", async () => {
    const fresh = await c.apply(cfg("want-ready", {}, { lifecycle_state: "ready" }));
    expect(fresh.status).toBe(409);
    expect(fresh.body).toMatchObject({ detail: "Cannot transition from DRAFT to READY", code: "CONFLICT" });
    expect((await c.get(rid(cfg("want-ready")))).status).toBe(404);

    const ready = await c.apply(cfg("life", { v: 2 }, { lifecycle_state: "processing" }));
    expect(ready.status).toBe(409);
    expect(ready.body.detail).toBe("Cannot transition from READY to PROCESSING");
    expect((await c.apply(cfg("life", { v: 2 }, { lifecycle_state: "failed" }))).body.detail).toBe("Cannot transition from READY to FAILED");

    const bad = await c.apply(cfg("life", { v: 2 }, { lifecycle_state: "banana" }));
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0].loc).toEqual(["body", "lifecycle_state"]);
  });

  it("pending and processing refuse every apply and delete; failed can be re-applied; stale results are ignored", async () => {
    await c.apply(cfg("gate"));
    const held = await c.apply(cfg("waiter", { k: 1 }, { depends_on: ["pragma/config/gate"], lifecycle_state: "pending" }));
    expect(held.body.lifecycle_state).toBe("pending");
    const id = held.body.id;
    for (const body of [cfg("waiter", { k: 1 }), cfg("waiter", { k: 2 }, { lifecycle_state: "draft" }), cfg("waiter", { k: 1 }, { lifecycle_state: "pending" })]) {
      const r = await c.apply(body);
      expect(r.status).toBe(409);
      expect(r.body.detail).toBe(BUSY);
    }
    expect((await c.del(id)).status).toBe(409);

    // Act as the worker that took the (held) event, to reach processing and failed on cue.
    await tap.publishResult("started", scopeOf(held.body));
    await c.waitFor(id, "processing");
    const busy = await c.apply(cfg("waiter", { k: 3 }));
    expect(busy.status).toBe(409);
    expect(busy.body.detail).toBe(BUSY);
    expect((await c.del(id)).status).toBe(409);

    await tap.publishResult("failed", scopeOf(held.body), { error: "provider said no" });
    const failed = await c.waitFor(id, "failed");
    expect(failed.body).toMatchObject({ error: "provider said no", pending_event_id: null, provisioned: false });
    const status = await c.req("GET", `/resources/${encodeURIComponent(id)}/status`);
    expect(status.body).toEqual({ resource_id: id, lifecycle_state: "failed", error: "provider said no" });

    // A duplicate of the old result changes nothing (stale-result guard).
    await tap.publishResult("succeeded", scopeOf(held.body), { outputs: { stale: true } });

    const toDraft = await c.apply(cfg("waiter", { k: 9 }, { depends_on: ["pragma/config/gate"] }));
    expect(toDraft.body).toMatchObject({ lifecycle_state: "draft", outputs: {} });

    const retry = await c.apply(cfg("waiter", { k: 9 }, { depends_on: ["pragma/config/gate"], lifecycle_state: "pending" }));
    expect(retry.body.lifecycle_state).toBe("pending");
    expect(retry.body.pending_event_id).not.toBe(held.body.pending_event_id);
    // The dependency becomes ready, and the waiter proceeds by itself.
    await c.apply(cfg("gate", { a: 1 }, { lifecycle_state: "pending" }));
    const ready = await c.waitFor(id, "ready");
    expect(ready.body.outputs).toEqual({ k: 9 });
    expect(tap.eventsFor(id).map((e) => e.event_id)).toEqual([retry.body.pending_event_id]);
  });

  it("a failed resource with a config change goes to draft; a failed one may be re-applied pending", async () => {
    await c.apply(cfg("gate2"));
    const held = await c.apply(cfg("f2", { k: 1 }, { depends_on: ["pragma/config/gate2"], lifecycle_state: "pending" }));
    await tap.publishResult("failed", scopeOf(held.body));
    await c.waitFor(held.body.id, "failed");
    const tagsOnly = await c.apply(cfg("f2", { k: 1 }, { depends_on: ["pragma/config/gate2"], tags: ["t"] }));
    expect(tagsOnly.body.lifecycle_state).toBe("failed");
    const again = await c.apply(cfg("f2", { k: 1 }, { depends_on: ["pragma/config/gate2"], lifecycle_state: "pending" }));
    expect(again.body.lifecycle_state).toBe("pending");
  });

  it("results a worker sends together in one message are each recorded, in order, and a stale one among them is inert", async () => {
    await c.apply(cfg("gate3"));
    const a = (await c.apply(cfg("batched-a", { k: 1 }, { depends_on: ["pragma/config/gate3"], lifecycle_state: "pending" }))).body;
    const b = (await c.apply(cfg("batched-b", { k: 2 }, { depends_on: ["pragma/config/gate3"], lifecycle_state: "pending" }))).body;
    const old = (await c.apply(cfg("batched-c", { k: 3 }, { depends_on: ["pragma/config/gate3"], lifecycle_state: "pending" }))).body;
    await tap.publishReported([
      { kind: "started", r: scopeOf(a) },
      { kind: "succeeded", r: scopeOf(a), extra: { outputs: { from: "batch" } } },
      { kind: "failed", r: scopeOf(b), extra: { error: "batched no" } },
      // An event id the resource is not waiting for: ignored, like a stale result of its own.
      { kind: "succeeded", r: { ...scopeOf(old), event_id: "evt_01STALESTALESTALESTALESTA" }, extra: { outputs: { stale: true } } },
    ]);
    expect((await c.waitFor(a.id, "ready")).body).toMatchObject({ outputs: { from: "batch" }, provisioned: true, pending_event_id: null });
    expect((await c.waitFor(b.id, "failed")).body).toMatchObject({ error: "batched no", pending_event_id: null });
    const still = await c.get(old.id);
    expect(still.body).toMatchObject({ lifecycle_state: "pending", pending_event_id: old.pending_event_id });
  });

  it("ids never split on '_': a colliding triple is 409, the stored one is untouched", async () => {
    const first = await c.apply({ provider: "pragma", resource: "b_c", name: "d", config: {} });
    expect(first.status).toBe(200);
    expect(first.body.id).toBe("resource:pragma_b_c_d");
    const second = await c.apply({ provider: "pragma", resource: "b", name: "c_d", config: {} });
    expect(second.status).toBe(409);
    expect(second.body.code).toBe("CONFLICT");
    const got = await c.get("resource:pragma_b_c_d");
    expect(got.body).toMatchObject({ resource: "b_c", name: "d" });
  });
});

describe("422s on apply pending", () => {
  it("unknown type, and config failing the type's JSON Schema, name the fields", async () => {
    const unknown = await c.apply({ provider: "pragma", resource: "nope", name: "x", config: {}, lifecycle_state: "pending" });
    expect(unknown.status).toBe(422);
    expect(unknown.body.detail).toEqual([{ loc: ["body", "resource"], msg: "Unknown resource type: pragma/nope", type: "value_error" }]);
    const unknownProvider = await c.apply({ provider: "nobody", resource: "config", name: "x", config: {}, lifecycle_state: "pending" });
    expect(unknownProvider.status).toBe(422);

    const bad = await c.apply({ provider: "pragma", resource: "random", name: "r", config: { length: "long", bogus: 1 }, lifecycle_state: "pending" });
    expect(bad.status).toBe(422);
    expect(bad.body.detail).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ loc: ["body", "config", "length"], type: "type_error" }),
        expect.objectContaining({ loc: ["body", "config", "bogus"], type: "extra_forbidden" }),
      ]),
    );
    const missing = await c.apply({ provider: "pragma", resource: "secret", name: "s", config: {}, lifecycle_state: "pending" });
    expect(missing.body.detail).toEqual([{ loc: ["body", "config", "value"], msg: "field required", type: "missing" }]);
    // Drafts are not validated against the type.
    expect((await c.apply({ provider: "pragma", resource: "random", name: "r", config: { length: "long" } })).status).toBe(200);
  });

  it("missing dependencies list their ids; malformed depends_on names the entry", async () => {
    const r = await c.apply(cfg("orphan", {}, { dependencies: [{ provider: "pragma", resource: "config", name: "ghost" }], depends_on: ["pragma/config/ghost2"], lifecycle_state: "pending" }));
    expect(r.status).toBe(422);
    expect(r.body.detail).toEqual({ message: "Dependency validation failed", missing_dependencies: ["resource:pragma_config_ghost", "resource:pragma_config_ghost2"] });
    const bad = await c.apply(cfg("orphan", {}, { depends_on: ["not-a-ref"], lifecycle_state: "pending" }));
    expect(bad.status).toBe(422);
    expect(bad.body.detail[0].loc).toEqual(["body", "depends_on", 0]);
  });

  it("a cycle is 422 naming it", async () => {
    await c.apply(cfg("cy-b", {}, { depends_on: ["pragma/config/cy-a"] }));
    const r = await c.apply(cfg("cy-a", {}, { depends_on: ["pragma/config/cy-b"], lifecycle_state: "pending" }));
    expect(r.status).toBe(422);
    expect(r.body.detail.cycle).toEqual(["resource:pragma_config_cy-a", "resource:pragma_config_cy-b", "resource:pragma_config_cy-a"]);
    expect(r.body.detail.message).toContain("cycle");
    const self = await c.apply(cfg("cy-self", {}, { depends_on: ["pragma/config/cy-self"], lifecycle_state: "pending" }));
    expect(self.status).toBe(422);
  });

  it("a reference to an undeclared output, or to one a ready target lacks, is 422 naming it", async () => {
    await c.apply({ provider: "pragma", resource: "random", name: "pw", config: { length: 16 } });
    const undeclared = await c.apply(cfg("uses-pw", { p: { provider: "pragma", resource: "random", name: "pw", field: "nope" } }, { lifecycle_state: "pending" }));
    expect(undeclared.status).toBe(422);
    expect(undeclared.body.detail).toEqual({ message: "Field reference resolution failed", reference_provider: "pragma", reference_resource: "random", reference_name: "pw", field: "nope" });

    await c.apply(cfg("src", { a: 1 }, { lifecycle_state: "pending" }));
    await c.waitFor(rid(cfg("src")), "ready");
    const absent = await c.apply(cfg("uses-src", { x: "${pragma/config/src.outputs.b}" }, { lifecycle_state: "pending" }));
    expect(absent.status).toBe(422);
    expect(absent.body.detail).toMatchObject({ message: "Field reference resolution failed", reference_name: "src", field: "b" });
  });

  it("schema validation skips references (they are resolved before the provider sees them)", async () => {
    await c.apply(cfg("len", { n: 20 }, { lifecycle_state: "pending" }));
    await c.waitFor(rid(cfg("len")), "ready");
    const r = await c.apply({ provider: "pragma", resource: "random", name: "sized", config: { length: { $ref: { provider: "pragma", resource: "config", name: "len", field: "n" } } }, lifecycle_state: "pending" });
    expect(r.status).toBe(200);
    const ready = await c.waitFor(rid({ provider: "pragma", resource: "random", name: "sized" }), "ready");
    expect(ready.body.outputs.length).toBe(20);
    expect(tap.eventsFor(ready.body.id)[0]!.config).toEqual({ length: 20 });
  });
});

describe("reads", () => {
  it("get by every id form; not found names provider/resource/name", async () => {
    await c.apply(cfg("forms.x_y"));
    for (const form of ["resource:pragma_config_forms.x_y", "pragma/config/forms.x_y", "pragma:config:forms.x_y"]) {
      const r = await c.get(form);
      expect(r.status).toBe(200);
      expect(r.body.id).toBe("resource:pragma_config_forms.x_y");
    }
    const raw = await c.req("GET", "/resources/resource:pragma_config_forms.x_y");
    expect(raw.status).toBe(200);
    const missing = await c.get("pragma/config/absent");
    expect(missing.status).toBe(404);
    expect(missing.body.detail).toBe("Resource not found: pragma/config/absent");
    expect((await c.get("resource:pragma_config_absent")).body.detail).toBe("Resource not found: pragma/config/absent");
    expect((await c.req("GET", "/resources/pragma%2Fconfig%2Fabsent/status")).status).toBe(404);
  });

  it("list: filters, all-tags match, name order, cursor pages, limits", async () => {
    const p = org.client(org.projectId, await org.addSpace(org.projectId, "listing"));
    for (const [name, tags] of [["e", ["a"]], ["b", ["a", "b"]], ["d", ["b"]], ["a", null], ["c", ["a", "b", "c"]]] as const) {
      await p.apply(cfg(name, {}, { tags }));
    }
    await p.apply({ provider: "pragma", resource: "secret", name: "c", config: { value: "v" } });
    const all = await p.list();
    expect(all.status).toBe(200);
    expect(Array.isArray(all.body)).toBe(true);
    expect(all.body.map((r: { name: string }) => r.name)).toEqual(["a", "b", "c", "c", "d", "e"]);
    expect(all.headers.get("next_cursor")).toBeNull();
    expect((await p.list("resource=secret")).body.map((r: { id: string }) => r.id)).toEqual(["resource:pragma_secret_c"]);
    expect((await p.list("provider=pragma&resource=config&tags=a&tags=b")).body.map((r: { name: string }) => r.name)).toEqual(["b", "c"]);
    expect((await p.list("tags=b")).body.map((r: { name: string }) => r.name)).toEqual(["b", "c", "d"]);
    expect((await p.list("provider=mysql")).body).toEqual([]);

    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page = await p.list(`limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(page.status).toBe(200);
      expect(page.body.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.map((r: { id: string }) => r.id));
      cursor = page.headers.get("next_cursor");
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(all.body.map((r: { id: string }) => r.id));

    for (const q of ["limit=0", "limit=1001", "limit=x", "cursor=%%%garbage"]) {
      const r = await p.list(q);
      expect(r.status).toBe(422);
      expect(r.body.detail[0].loc[0]).toBe("query");
    }
    expect((await p.list("limit=1000")).status).toBe(200);
  });

  it("types: built-in definitions sorted by provider then resource, filterable", async () => {
    const r = await c.req("GET", "/resources/types");
    expect(r.status).toBe(200);
    const keys = r.body.map((t: { provider: string; resource: string }) => `${t.provider}/${t.resource}`);
    expect(keys).toEqual([...keys].sort());
    expect(keys).toEqual(expect.arrayContaining(["mysql/user", "postgres/role", "pragma/config", "pragma/random", "pragma/secret"]));
    const secret = r.body.find((t: { resource: string }) => t.resource === "secret");
    expect(Object.keys(secret).sort()).toEqual(["description", "outputs_schema", "provider", "resource", "schema", "tags"]);
    expect(secret.schema.properties.value["x-sensitive"]).toBe(true);
    const only = await c.req("GET", "/resources/types?provider=pragma");
    expect(only.body.map((t: { resource: string }) => t.resource)).toEqual(["config", "random", "secret"]);
  });

  it("logs and health are answered by a worker; tail is bounded; a type without a health check is 404", async () => {
    const id = rid(cfg("life"));
    const logs = await c.req("GET", `/resources/${encodeURIComponent(id)}/logs?tail=5`);
    expect(logs.status).toBe(200);
    expect(logs.body.resource_id).toBe(id);
    expect(logs.body.lines.length).toBeGreaterThan(0);
    expect(logs.body.lines.length).toBeLessThanOrEqual(5);
    for (const tail of ["0", "10001", "x"]) expect((await c.req("GET", `/resources/${encodeURIComponent(id)}/logs?tail=${tail}`)).status).toBe(422);
    expect((await c.req("GET", `/resources/${encodeURIComponent(id)}/logs?since=yesterday`)).status).toBe(422);
    const health = await c.req("GET", `/resources/${encodeURIComponent(id)}/health`);
    expect(health.status).toBe(404);
    expect((await c.req("GET", `/resources/${encodeURIComponent("pragma/config/absent")}/logs`)).status).toBe(404);
  });
});

describe("delete", () => {
  it("a never-provisioned draft is removed at once (204); missing is 204; a ready one goes pending then away", async () => {
    await c.apply(cfg("del-draft"));
    expect((await c.del(rid(cfg("del-draft")))).status).toBe(204);
    expect((await c.get(rid(cfg("del-draft")))).status).toBe(404);
    expect((await c.del(rid(cfg("never-was")))).status).toBe(204);

    await c.apply(cfg("del-ready", { z: 1 }, { lifecycle_state: "pending" }));
    const id = rid(cfg("del-ready"));
    await c.waitFor(id, "ready");
    const d = await c.del(id);
    expect(d.status).toBe(200);
    expect(d.body.lifecycle_state).toBe("pending");
    await c.waitFor(id, "gone");
    const del = tap.eventsFor(id).find((e) => e.event_type === "DELETE");
    expect(del).toMatchObject({ event_id: d.body.pending_event_id, config: { z: 1 } });
  });

  it("a provisioned draft gets a DELETE event (200)", async () => {
    await c.apply(cfg("del-pd", { z: 1 }, { lifecycle_state: "pending" }));
    const id = rid(cfg("del-pd"));
    await c.waitFor(id, "ready");
    await c.apply(cfg("del-pd", { z: 2 }));
    const d = await c.del(id);
    expect(d.status).toBe(200);
    await c.waitFor(id, "gone");
  });

  it("deleting an owner deletes what it owns, children first", async () => {
    const owner = { provider: "pragma", resource: "config", name: "owner" };
    await c.apply(cfg("owner", { o: 1 }, { lifecycle_state: "pending" }));
    await c.waitFor(rid(owner), "ready");
    for (const n of ["kid1", "kid2"]) {
      await c.apply(cfg(n, { n }, { owner_references: [owner], lifecycle_state: "pending" }));
      await c.waitFor(rid(cfg(n)), "ready");
    }
    await c.apply(cfg("kid-draft", {}, { owner_references: [owner] }));
    await c.apply(cfg("grandkid", { g: 1 }, { owner_references: [{ provider: "pragma", resource: "config", name: "kid1" }], lifecycle_state: "pending" }));
    await c.waitFor(rid(cfg("grandkid")), "ready");

    const d = await c.del(rid(owner));
    expect(d.status).toBe(200);
    expect(d.body.lifecycle_state).toBe("pending");
    expect((await c.get(rid(cfg("kid-draft")))).status).toBe(404);
    for (const n of ["grandkid", "kid1", "kid2", "owner"]) await c.waitFor(rid(cfg(n)), "gone");

    const order = tap.events.filter((e) => e.event_type === "DELETE").map((e) => e.resource_name);
    const at = (n: string) => order.indexOf(n);
    expect(at("grandkid")).toBeGreaterThanOrEqual(0);
    expect(at("grandkid")).toBeLessThan(at("kid1"));
    expect(at("kid1")).toBeLessThan(at("owner"));
    expect(at("kid2")).toBeLessThan(at("owner"));
  });
});
