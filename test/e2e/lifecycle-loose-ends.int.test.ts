import { newUlid } from "@pragma/ids";
import { testInfraUrls, waitFor } from "@pragma/testing";
import { call, SERVER_KEY, startSystem, type RunningSystem } from "./system";
import { tapBus, type BusTap } from "./bus-tap";

/**
 * Issue 20, cases 4-7, through the gateway on the whole system: deleting what was never
 * provisioned, a dead-letter retry that resolves references and waits for dependencies as
 * apply does, the dead-letter list's filters, and deleting what others depend on.
 *
 * The "broken" project registers a PostgreSQL server with a login role that does not
 * exist, so every postgres resource there fails for good (permanent error, dead-lettered
 * at once) while pragma/config resources, which need no server, become ready.
 */
const sk = { "x-server-key": SERVER_KEY };
const dbEntry = (username: string) => ({
  host: "127.0.0.1",
  port: String(new URL(testInfraUrls().databaseUrl).port || 5432),
  username,
  password: "unused-here",
  db_name: "postgres",
  db_type: "postgres",
  connect_timeout_secs: 5,
  idle_timeout_secs: 30,
  max_open_connections: 5,
  max_idle_connections: 2,
});

let sys: RunningSystem;
let tap: BusTap;
let ops: Record<string, string>;
const suffix = () => newUlid().slice(-8).toLowerCase();

const get = (path: string) => call(sys.baseUrl, "GET", path, { headers: ops });
const post = (path: string, body?: unknown) => call(sys.baseUrl, "POST", path, { headers: ops, ...(body !== undefined ? { body } : {}) });
const del = (path: string) => call(sys.baseUrl, "DELETE", path, { headers: ops });
const rid = (p: string, t: string, n: string) => `resource:${p}_${t}_${n}`;
const at = (id: string) => `/resources/${encodeURIComponent(id)}`;

async function apply(body: Record<string, unknown>) {
  const res = await post("/resources/apply", { lifecycle_state: "pending", ...body });
  if (res.status !== 200) throw new Error(`apply ${JSON.stringify(body)}: ${res.status} ${res.text}`);
  return res.body;
}

async function waitForState(id: string, state: string) {
  return waitFor(
    async () => {
      const r = await get(at(id));
      return r.body?.lifecycle_state === state ? r.body : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 100, message: `${id} never became ${state}` },
  );
}

async function entryFor(eventId: string) {
  return waitFor(async () => ((await get("/ops/dead-letter")).body as any[]).find((e) => e.event_id === eventId), {
    timeoutMs: 30_000,
    intervalMs: 100,
    message: `no dead-letter entry for ${eventId}`,
  });
}

/** A postgres resource that fails for good in this project; answers its dead-letter entry. */
async function failing(resource: "database" | "role", name: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const applied = await apply({ provider: "postgres", resource, name, config, ...extra });
  return entryFor(applied.pending_event_id);
}

beforeAll(async () => {
  sys = await startSystem("loose-ends");
  tap = await tapBus(sys.env.amqpUrl);
  const orgId = newUlid();
  const org = await call(sys.baseUrl, "POST", "/orgs", {
    headers: sk,
    body: { org_id: orgId, name: "loose", abbreviation: "loose", admin_email: "a@l.test", admin_name: "A", address: "1 St", state: "CA", country: "US", pin_code: "94000" },
  });
  expect(org.status).toBe(201);
  const project = await call(sys.baseUrl, "POST", `/orgs/${orgId}/projects`, { headers: sk, body: { name: "broken", abbreviation: "broken", database: [dbEntry("no_such_role")] } });
  expect(project.status).toBe(201);
  const key = await call(sys.baseUrl, "POST", `/orgs/${orgId}/api-keys`, {
    headers: sk,
    body: { name: "ops", role: "operator", project_id: project.body.project_id, space_id: project.body.space_id },
  });
  const tok = await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: key.body.api_key } });
  ops = { authorization: `Bearer ${tok.body.access_token}` };
}, 60_000);

afterAll(async () => {
  await tap?.close();
  await sys?.stop();
});

describe("case 4: a resource that was never provisioned", () => {
  it("whose first CREATE failed is deleted at once (204): no DELETE event reaches a provider, no dead letter is added", async () => {
    const name = `never_${suffix()}`;
    const id = rid("postgres", "database", name);
    const entry = await failing("database", name, { name });
    const failed = await waitForState(id, "failed");
    expect(failed.provisioned).toBe(false);

    const d = await del(at(id));
    expect(d.status).toBe(204);
    expect(d.text).toBe("");
    expect((await get(at(id))).status).toBe(404);
    // Deleting again is the ordinary "already gone".
    expect((await del(at(id))).status).toBe(204);

    // Give a (wrongly) queued DELETE time to reach the provider and fail.
    await new Promise((ok) => setTimeout(ok, 1_500));
    expect(tap.eventsFor(id).map((e) => e.event_type)).toEqual(["CREATE"]);
    const entries = ((await get("/ops/dead-letter")).body as any[]).filter((e) => e.resource_id === id);
    expect(entries.map((e) => e.event_id)).toEqual([entry.event_id]);
  });
});

describe("case 5: a dead-letter retry goes through the lifecycle, as apply does", () => {
  it("resolves references: the retry answers and queues the referenced output's value, never the reference", async () => {
    const s = suffix();
    const source = `src_${s}`;
    const dbName = `dl_ref_${s}`;
    await apply({ provider: "pragma", resource: "config", name: source, config: { k: dbName } });
    await waitForState(rid("pragma", "config", source), "ready");
    const name = `ref_${s}`;
    const id = rid("postgres", "database", name);
    const entry = await failing("database", name, { name: `\${pragma/config/${source}.outputs.k}` });
    // The first attempt already ran with the resolved value.
    expect(entry.payload.config).toEqual({ name: dbName });
    await waitForState(id, "failed");

    const retried = await post(`/ops/dead-letter/${entry.event_id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ event_type: "CREATE", status: "pending", resource_name: name });
    expect(retried.body.held).toBeUndefined();
    expect(retried.body.payload.config).toEqual({ name: dbName });

    const sent = await waitFor(() => tap.eventsFor(id).find((e) => e.event_id === retried.body.event_id), { timeoutMs: 30_000, message: "the retried event was never published" });
    expect(sent.config).toEqual({ name: dbName });
    expect(JSON.stringify(sent)).not.toContain("${");
    // It fails again (the server still refuses), under the new event id; retry-all takes the same path.
    await entryFor(retried.body.event_id);
    await waitForState(id, "failed");
    const all = await post("/ops/dead-letter/retry-all?provider=postgres");
    expect(all.status).toBe(200);
    expect(all.body.retried_count).toBeGreaterThanOrEqual(1);
    const requeued = (await get(at(id))).body.pending_event_id;
    expect(requeued).toMatch(/^evt_/);
    const again = await waitFor(() => tap.eventsFor(id).find((e) => e.event_id === requeued), { timeoutMs: 30_000, message: "retry-all's event was never published" });
    expect(again.config).toEqual({ name: dbName });
  });

  it("holds for dependencies: a retry whose dependency is not ready leaves the resource pending, publishes nothing, and goes once the dependency is ready", async () => {
    const s = suffix();
    const source = `src_${s}`;
    const dbName = `dl_hold_${s}`;
    await apply({ provider: "pragma", resource: "config", name: source, config: { k: dbName } });
    await waitForState(rid("pragma", "config", source), "ready");
    const name = `held_${s}`;
    const id = rid("postgres", "database", name);
    const entry = await failing("database", name, { name: `\${pragma/config/${source}.outputs.k}` });
    await waitForState(id, "failed");

    // The dependency now waits itself: it depends on a role that fails for good here.
    const blocker = `blocker_${s}`;
    await failing("role", blocker, { name: blocker });
    await waitForState(rid("postgres", "role", blocker), "failed");
    await apply({ provider: "pragma", resource: "config", name: source, config: { k: dbName }, depends_on: [`postgres/role/${blocker}`] });
    expect((await get(at(rid("pragma", "config", source)))).body.lifecycle_state).toBe("pending");

    const retried = await post(`/ops/dead-letter/${entry.event_id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ event_type: "CREATE", status: "pending", held: true, published_at: null });
    const r = (await get(at(id))).body;
    expect(r).toMatchObject({ lifecycle_state: "pending", pending_event_id: retried.body.event_id, error: null });
    await new Promise((ok) => setTimeout(ok, 1_000));
    expect(tap.eventsFor(id).find((e) => e.event_id === retried.body.event_id)).toBeUndefined();
    expect((await get(at(id))).body.lifecycle_state).toBe("pending");
    // The entry was taken: a second retry finds nothing.
    expect((await post(`/ops/dead-letter/${entry.event_id}/retry`)).status).toBe(404);

    // The dependency goes ready (without the blocker): the held event is released, resolved.
    const blockerId = rid("postgres", "role", blocker);
    expect((await del(at(blockerId))).status).toBe(409);
    expect((await del(`${at(blockerId)}?force=true`)).status).toBe(204);
    await waitForState(rid("pragma", "config", source), "failed");
    await apply({ provider: "pragma", resource: "config", name: source, config: { k: dbName } });
    await waitForState(rid("pragma", "config", source), "ready");
    const sent = await waitFor(() => tap.eventsFor(id).find((e) => e.event_id === retried.body.event_id), { timeoutMs: 30_000, message: "the held retry was never released" });
    expect(sent.config).toEqual({ name: dbName });
  });
});

describe("case 6: dead-letter filters", () => {
  it("reason and resource_type narrow the list (with provider, together); an unknown reason is 422 naming it", async () => {
    const s = suffix();
    const db = await failing("database", `flt_db_${s}`, { name: `flt_db_${s}` });
    const role = await failing("role", `flt_role_${s}`, { name: `flt_role_${s}` });
    const ids = (list: any[]) => list.map((e) => e.event_id).filter((x) => x === db.event_id || x === role.event_id).sort();
    expect(db.reason).toBe("permanent_error");

    expect(ids((await get("/ops/dead-letter?reason=permanent_error")).body)).toEqual([db.event_id, role.event_id].sort());
    for (const other of ["rejected", "delivery_limit", "expired"]) {
      const res = await get(`/ops/dead-letter?reason=${other}`);
      expect(res.status).toBe(200);
      expect((res.body as any[]).every((e) => e.reason === other)).toBe(true);
      expect(ids(res.body)).toEqual([]);
    }
    const roles = await get("/ops/dead-letter?resource_type=role");
    expect((roles.body as any[]).every((e) => e.resource_type === "role")).toBe(true);
    expect(ids(roles.body)).toEqual([role.event_id]);
    expect(ids((await get("/ops/dead-letter?provider=postgres&reason=permanent_error&resource_type=database")).body)).toEqual([db.event_id]);
    expect(ids((await get("/ops/dead-letter?provider=mysql&resource_type=database")).body)).toEqual([]);

    const bad = await get("/ops/dead-letter?reason=bogus");
    expect(bad.status).toBe(422);
    expect(bad.body.code).toBe("VALIDATION_FAILED");
    expect(bad.body.detail[0].loc).toEqual(["query", "reason"]);
  });
});

describe("case 7: deleting what others depend on", () => {
  it("is 409 naming the dependents (references and dependencies), and nothing changes; force=true deletes it and they keep their state", async () => {
    const s = suffix();
    const base = `base_${s}`;
    const baseId = rid("pragma", "config", base);
    await apply({ provider: "pragma", resource: "config", name: base, config: { k: "v" } });
    await waitForState(baseId, "ready");
    const byRef = `byref_${s}`;
    const byDep = `bydep_${s}`;
    await apply({ provider: "pragma", resource: "config", name: byRef, config: { x: `\${pragma/config/${base}.outputs.k}` } });
    await apply({ provider: "pragma", resource: "config", name: byDep, config: { y: 1 }, depends_on: [`pragma/config/${base}`] });
    await waitForState(rid("pragma", "config", byRef), "ready");
    await waitForState(rid("pragma", "config", byDep), "ready");

    const refused = await del(at(baseId));
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe("CONFLICT");
    expect(refused.body.detail.dependents).toEqual([rid("pragma", "config", byDep), rid("pragma", "config", byRef)]);
    expect(refused.body.detail.message).toContain(`pragma/config/${byRef}`);
    expect(refused.body.detail.message).toContain(`pragma/config/${byDep}`);
    expect(refused.body.detail.message).toContain("force=true");
    expect((await get(at(baseId))).body).toMatchObject({ lifecycle_state: "ready", pending_event_id: null });
    expect(tap.eventsFor(baseId).some((e) => e.event_type === "DELETE")).toBe(false);
    expect((await del(`${at(baseId)}?force=maybe`)).status).toBe(422);

    const forced = await del(`${at(baseId)}?force=true`);
    expect(forced.status).toBe(200);
    expect(forced.body.lifecycle_state).toBe("pending");
    await waitFor(async () => ((await get(at(baseId))).status === 404 ? true : undefined), { timeoutMs: 30_000, message: "forced delete never finished" });
    // The documented choice: dependents keep their state and outputs; the reference dangles.
    expect((await get(at(rid("pragma", "config", byRef)))).body).toMatchObject({ lifecycle_state: "ready", outputs: { x: "v" } });
    expect((await get(at(rid("pragma", "config", byDep)))).body.lifecycle_state).toBe("ready");
  });

  it("dependents being deleted with it (what it owns) do not count; with force, a dependent still waiting for it fails instead of waiting forever", async () => {
    const s = suffix();
    // A role that failed for good (never provisioned), and a config waiting for it.
    const role = `wait_role_${s}`;
    const roleId = rid("postgres", "role", role);
    await failing("role", role, { name: role });
    await waitForState(roleId, "failed");
    const waiter = `waiter_${s}`;
    const waiterId = rid("pragma", "config", waiter);
    await apply({ provider: "pragma", resource: "config", name: waiter, config: { n: 1 }, depends_on: [`postgres/role/${role}`] });
    expect((await get(at(waiterId))).body.lifecycle_state).toBe("pending");

    const refused = await del(at(roleId));
    expect(refused.status).toBe(409);
    expect(refused.body.detail.dependents).toEqual([waiterId]);

    // Never provisioned: removed at once (case 4), and the waiter is told why.
    expect((await del(`${at(roleId)}?force=true`)).status).toBe(204);
    const failed = await waitForState(waiterId, "failed");
    expect(failed.error).toContain(`postgres/role/${role}`);
    expect(tap.eventsFor(waiterId)).toEqual([]);

    // An owner whose owned resource depends on it: the dependent goes with it, so no 409.
    const owner = `owner_${s}`;
    const ownerRef = { provider: "pragma", resource: "config", name: owner };
    await apply({ ...ownerRef, config: { o: 1 } });
    await waitForState(rid("pragma", "config", owner), "ready");
    const kid = `kid_${s}`;
    await apply({ provider: "pragma", resource: "config", name: kid, config: { k: 1 }, owner_references: [ownerRef], depends_on: [`pragma/config/${owner}`] });
    await waitForState(rid("pragma", "config", kid), "ready");
    expect((await del(at(rid("pragma", "config", owner)))).status).toBe(200);
    for (const n of [kid, owner]) await waitFor(async () => ((await get(at(rid("pragma", "config", n)))).status === 404 ? true : undefined), { timeoutMs: 30_000, message: `${n} not gone` });
  });
});
