import { Client as Pg } from "pg";
import { waitFor } from "@pragma/testing";
import { call, SERVER_KEY, startSystem, type RunningSystem } from "./system";
import { Client, createOrg, enc, rid, type Org } from "./tenant";

/**
 * GET /resources/{id}/events (api.md §9) through the gateway, with the real store and
 * worker: every lifecycle step recorded in the transaction that takes it, newest first,
 * with its event and request id, nothing secret in it, and at most 100 kept.
 */
let sys: RunningSystem;
let org: Org;
let c: Client;
let db: Pg;
beforeAll(async () => {
  sys = await startSystem("res-history");
  org = await createOrg(sys.baseUrl);
  c = org.client();
  db = new Pg({ connectionString: sys.env.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await sys?.stop();
});

interface Entry {
  at: string;
  kind: string;
  event_id: string | null;
  request_id: string | null;
  summary: string;
}
/** An operator of the org's first project (dead letters are an operator's). */
async function operator(): Promise<Client> {
  const key = await call(sys.baseUrl, "POST", `/orgs/${org.orgId}/api-keys`, {
    headers: { "x-server-key": SERVER_KEY },
    body: { name: "ops", role: "operator", project_id: org.projectId, space_id: org.spaceId },
  });
  const tok = await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: key.body.api_key } });
  return new Client(sys.baseUrl, tok.body.access_token as string, org.projectId, org.spaceId);
}
const events = async (id: string, query = "") => c.req("GET", `/resources/${enc(id)}/events${query}`);
const items = async (id: string): Promise<Entry[]> => {
  const r = await events(id);
  expect(r.status).toBe(200);
  return r.body.items as Entry[];
};
// A worker's "started" and its result may land in one batch of results: the store then
// skips "started" (nothing could have seen it), so the assertions leave it out.
const kinds = (list: Entry[]) => list.map((e) => e.kind).filter((k) => k !== "started");

describe("resource history", () => {
  it("records apply, queue, success, update and delete, newest first, with event and request ids", async () => {
    // The entries' sequence numbers cross from two digits to three (99 → 100), so newest
    // first must be numeric order, not the order of their text.
    await db.query("ALTER TABLE resource_store.resource_history ALTER COLUMN seq RESTART WITH 97");
    const body = { provider: "pragma", resource: "config", name: "hist", config: { v: 1 }, lifecycle_state: "pending" };
    const id = rid(body);
    const created = await c.req("POST", "/resources/apply", body);
    expect(created.status).toBe(200);
    const createEvent = created.body.pending_event_id as string;
    const createRequest = created.headers.get("x-request-id");
    expect(createRequest).toBeTruthy();
    await c.waitFor(id, "ready");
    const updated = await c.apply({ ...body, config: { v: 2 } });
    const updateEvent = updated.body.pending_event_id as string;
    await c.waitFor(id, "ready");
    const deleted = await c.del(id);
    expect(deleted.status).toBe(200);
    const deleteEvent = deleted.body.pending_event_id as string;
    await c.waitFor(id, "gone");

    // The history outlives the resource.
    const list = await waitFor(async () => {
      const l = await items(id);
      return l[0]?.kind === "deleted" ? l : undefined;
    }, { message: "deleted in the history" });
    expect(kinds(list)).toEqual(["deleted", "queued", "succeeded", "queued", "applied", "succeeded", "queued", "applied"]);
    const times = list.map((e) => new Date(e.at).getTime());
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    const byKind = (kind: string, eventId: string) => list.find((e) => e.kind === kind && e.event_id === eventId);
    expect(byKind("queued", createEvent)).toMatchObject({ summary: "CREATE queued", request_id: createRequest });
    // A worker's result carries no request id: the entry takes its event's.
    expect(byKind("succeeded", createEvent)).toMatchObject({ summary: "CREATE succeeded", request_id: createRequest });
    expect(byKind("succeeded", updateEvent)).toMatchObject({ summary: "UPDATE succeeded", request_id: updated.headers.get("x-request-id") });
    expect(byKind("deleted", deleteEvent)).toMatchObject({ request_id: deleted.headers.get("x-request-id") });
    for (const e of list) expect(e.event_id === null || e.event_id.startsWith("evt_")).toBe(true);
    expect(list.filter((e) => e.kind === "applied").every((e) => e.event_id === null)).toBe(true);
  });

  it("a failure's error is in the history with its secrets redacted; a retry of its dead letter is recorded", async () => {
    // The owner does not exist: CREATE DATABASE fails permanently, and the failure is dead-lettered.
    const secret = "hunter2-history-secret";
    const body = {
      provider: "postgres",
      resource: "database",
      name: "hist-fails",
      config: { name: `histfails_${org.orgId.slice(-6).toLowerCase()}`, owner: "no_such_owner_hist" },
      lifecycle_state: "pending",
    };
    const id = rid(body);
    await c.apply(body);
    await c.waitFor(id, "failed", 60_000);
    const list = await waitFor(async () => {
      const l = await items(id);
      return l.some((e) => e.kind === "dead_lettered") ? l : undefined;
    }, { timeoutMs: 30_000, message: "dead_lettered in the history" });
    const failed = list.find((e) => e.kind === "failed" || e.kind === "dead_lettered")!;
    expect(failed.summary).toContain("no_such_owner_hist");

    // Redaction: an entry written with a URL password and a key=value secret keeps neither
    // (the same scrubbing the resource's error gets).
    const { historyText } = await import("../../services/resource-store/src/domain/resources/history");
    const scrubbed = historyText(`connect postgresql://u:${secret}@h/db failed; password=${secret}`);
    expect(scrubbed).not.toContain(secret);

    const ops = await operator();
    const dl = await ops.req("GET", "/ops/dead-letter");
    const entry = (dl.body as { event_id: string; resource_id: string }[]).find((d) => d.resource_id === id);
    expect(entry).toBeDefined();
    const retried = await ops.req("POST", `/ops/dead-letter/${entry!.event_id}/retry`);
    expect(retried.status).toBe(200);
    const after = await waitFor(async () => {
      const l = await items(id);
      return l.some((e) => e.kind === "retried") ? l : undefined;
    }, { message: "retried in the history" });
    const retriedAt = after.findIndex((e) => e.kind === "retried");
    expect(after[retriedAt]).toMatchObject({ event_id: entry!.event_id, request_id: retried.headers.get("x-request-id") });
    // The retry's new event is queued after (above) the retry entry.
    expect(after.slice(0, retriedAt).some((e) => e.kind === "queued")).toBe(true);
  });

  it("keeps the newest 100 entries per resource", async () => {
    const body = { provider: "pragma", resource: "config", name: "hist-bound" };
    const id = rid(body);
    for (let i = 0; i < 105; i++) expect((await c.apply({ ...body, config: { i } })).status).toBe(200);
    const list = await items(id);
    expect(list).toHaveLength(100);
    expect(list.every((e) => e.kind === "applied")).toBe(true);
    const stored = await db.query(`SELECT count(*)::int AS n FROM resource_store.resource_history WHERE resource_id = $1`, [id]);
    expect(stored.rows[0].n).toBe(100);
    expect((await events(id, "?limit=3")).body.items).toEqual(list.slice(0, 3));
  });

  it("404 for a resource with neither row nor history; a bad limit is 422 naming it; another tenant sees nothing", async () => {
    expect((await events("resource:pragma_config_never")).status).toBe(404);
    const bad = await events(rid({ provider: "pragma", resource: "config", name: "hist-bound" }), "?limit=0");
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body.detail)).toContain("limit");
    const other = (await createOrg(sys.baseUrl)).client();
    expect((await other.req("GET", `/resources/${enc(rid({ provider: "pragma", resource: "config", name: "hist-bound" }))}/events`)).status).toBe(404);
  });
});
