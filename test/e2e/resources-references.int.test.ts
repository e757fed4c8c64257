import { startSystem, type RunningSystem } from "./system";
import { tapBus, type BusTap } from "./bus-tap";
import { createOrg, rid, type Client, type Org } from "./tenant";

/** Spec §4.2 end to end: reference forms, holding and release, propagation down a chain. */
let sys: RunningSystem;
let tap: BusTap;
let org: Org;
let c: Client;
beforeAll(async () => {
  sys = await startSystem("res-references");
  tap = await tapBus(sys.env.amqpUrl);
  org = await createOrg(sys.baseUrl);
  c = org.client();
});
afterAll(async () => {
  await tap?.close();
  await sys?.stop();
});

const cfg = (name: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({ provider: "pragma", resource: "config", name, config, ...extra });
const quiet = (ms: number) => new Promise((r) => setTimeout(r, ms));

it("every reference form, nested and interpolated, is resolved before the provider sees it; the dependent waits for a pending dependency", async () => {
  await c.apply(cfg("db", { conn: { host: "h1", port: 5432 }, name: "main" }));
  const appCfg = {
    host: { provider: "pragma", resource: "config", name: "db", field: "conn.host" },
    nested: { list: [{ $ref: { provider: "pragma", resource: "config", name: "db", field: "conn.port" } }, "plain"] },
    url: "postgres://${pragma/config/db.outputs.conn.host}:${pragma/config/db.outputs.conn.port}/${pragma/config/db.outputs.name}?x=1",
    whole: "${pragma/config/db.outputs.conn}",
  };
  const app = await c.apply(cfg("app", appCfg, { lifecycle_state: "pending" }));
  expect(app.status).toBe(200);
  expect(app.body.lifecycle_state).toBe("pending");
  // A reference adds its target to the dependencies.
  expect(app.body.dependencies).toEqual([{ provider: "pragma", resource: "config", name: "db" }]);

  // db is a draft: app's event is held, not sent.
  await quiet(700);
  expect(tap.eventsFor(app.body.id)).toHaveLength(0);
  expect((await c.get(app.body.id)).body.lifecycle_state).toBe("pending");

  await c.apply(cfg("db", { conn: { host: "h1", port: 5432 }, name: "main" }, { lifecycle_state: "pending" }));
  const ready = await c.waitFor(app.body.id, "ready");
  const resolved = { host: "h1", nested: { list: [5432, "plain"] }, url: "postgres://h1:5432/main?x=1", whole: { host: "h1", port: 5432 } };
  expect(ready.body.outputs).toEqual(resolved);
  expect(ready.body.config).toEqual(appCfg);
  const events = tap.eventsFor(app.body.id);
  expect(events).toHaveLength(1);
  expect(events[0]!.config).toEqual(resolved);
  expect(JSON.stringify(events[0])).not.toContain("${");
});

it("a failed dependency keeps its dependents waiting until it is fixed", async () => {
  await c.apply(cfg("root", { r: 1 }));
  const mid = await c.apply(cfg("mid", { m: "${pragma/config/root.outputs.r}" }, { lifecycle_state: "pending" }));
  const leaf = await c.apply(cfg("leaf", { l: "${pragma/config/mid.outputs.m}" }, { lifecycle_state: "pending" }));
  expect(leaf.status).toBe(200);
  await tap.publishResult("failed", { event_id: mid.body.pending_event_id, resource_id: mid.body.id, org_id: org.orgId, project_id: c.projectId, space_id: c.spaceId });
  await c.waitFor(mid.body.id, "failed");
  await c.apply(cfg("root", { r: 1 }, { lifecycle_state: "pending" }));
  await c.waitFor(rid(cfg("root", {})), "ready");
  await quiet(700);
  expect((await c.get(leaf.body.id)).body.lifecycle_state).toBe("pending");
  expect(tap.eventsFor(leaf.body.id)).toHaveLength(0);

  await c.apply(cfg("mid", { m: "${pragma/config/root.outputs.r}" }, { lifecycle_state: "pending" }));
  const done = await c.waitFor(leaf.body.id, "ready");
  expect(done.body.outputs).toEqual({ l: 1 });
  expect(tap.eventsFor(leaf.body.id)).toHaveLength(1);
});

it("a chain of three propagates an output change to the end, each resource exactly once; unchanged outputs propagate nothing", async () => {
  const ids = ["c1", "c2", "c3"].map((n) => rid(cfg(n, {})));
  await c.apply(cfg("c1", { v: 1 }, { lifecycle_state: "pending" }));
  await c.apply(cfg("c2", { v: "${pragma/config/c1.outputs.v}", own: "two" }, { lifecycle_state: "pending" }));
  await c.apply(cfg("c3", { v: { provider: "pragma", resource: "config", name: "c2", field: "v" } }, { lifecycle_state: "pending" }));
  for (const id of ids) await c.waitFor(id, "ready");
  expect(ids.map((id) => tap.eventsFor(id).length)).toEqual([1, 1, 1]);

  await c.apply(cfg("c1", { v: 2 }, { lifecycle_state: "pending" }));
  const c3 = await c.waitFor(ids[2]!, "ready", 20_000).then(async () => {
    // c3 is ready from before until its re-run lands: wait for the new value.
    for (let i = 0; i < 200; i++) {
      const r = await c.get(ids[2]!);
      if (r.body.lifecycle_state === "ready" && r.body.outputs.v === 2) return r;
      await quiet(50);
    }
    throw new Error("c3 never got v=2");
  });
  expect(c3.body.outputs).toEqual({ v: 2 });
  expect((await c.get(ids[1]!)).body.outputs).toEqual({ v: 2, own: "two" });
  await quiet(1000);
  expect(ids.map((id) => tap.eventsFor(id).map((e) => e.event_type))).toEqual([
    ["CREATE", "UPDATE"],
    ["CREATE", "UPDATE"],
    ["CREATE", "UPDATE"],
  ]);
  // The UPDATE carries fresh values and the previous resolved config.
  const c2Update = tap.eventsFor(ids[1]!)[1]!;
  expect(c2Update.config).toEqual({ v: 2, own: "two" });
  expect(c2Update.previous_config).toEqual({ v: 1, own: "two" });

  // Redelivered result of c1's UPDATE: ignored, nothing propagates again (idempotent consumer).
  const c1Update = tap.eventsFor(ids[0]!)[1]!;
  await tap.publishResult("succeeded", { event_id: c1Update.event_id, resource_id: ids[0]!, org_id: org.orgId, project_id: c.projectId, space_id: c.spaceId }, { event_type: "UPDATE", outputs: { v: 99 } });

  // Re-applying c1 with the same config: an UPDATE, same outputs, so no propagation.
  await c.apply(cfg("c1", { v: 2 }, { lifecycle_state: "pending" }));
  await c.waitFor(ids[0]!, "ready");
  await quiet(1000);
  expect(ids.map((id) => tap.eventsFor(id).length)).toEqual([3, 2, 2]);
  expect((await c.get(ids[0]!)).body.outputs).toEqual({ v: 2 });
});

it("dependents applied while their dependency is finishing are never left waiting (no lost wake-up)", async () => {
  // Each round: the dependency goes pending, and dependents are applied one after another
  // while its result comes in, so some applies overlap the transaction that makes it ready.
  const dependents: string[] = [];
  for (let round = 0; round < 6; round++) {
    const base = cfg(`race-base-${round}`, { v: round }, { lifecycle_state: "pending" });
    expect((await c.apply(base)).status).toBe(200);
    const applies: Promise<unknown>[] = [];
    for (let i = 0; i < 12; i++) {
      const dep = cfg(`race-dep-${round}-${i}`, { from: `\${pragma/config/race-base-${round}.outputs.v}` }, { lifecycle_state: "pending" });
      dependents.push(rid(dep));
      applies.push(c.apply(dep).then((r) => expect(r.status).toBe(200)));
      await quiet(3);
    }
    await Promise.all(applies);
  }
  for (const id of dependents) await c.waitFor(id, "ready", 15_000);
});
