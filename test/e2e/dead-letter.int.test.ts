import { newUlid } from "@pragma/ids";
import { testInfraUrls, waitFor } from "@pragma/testing";
// pg is a dependency of the services, not of the workspace root.
import { Client } from "../../services/resource-store/node_modules/pg";
import { call, SERVER_KEY, startSystem, type RunningSystem } from "./system";

/**
 * Dead-letter operations through the gateway, against the whole system: a worker really
 * fails, the store drains pragma.dead-letter, operators inspect, retry and discard.
 */
const REGISTRY_PASSWORD = "registry-pw-marker-7Qx2";

const sk = { "x-server-key": SERVER_KEY };
const dbEntry = (username: string, overrides: Record<string, unknown> = {}) => ({
  host: "127.0.0.1",
  port: String(new URL(testInfraUrls().databaseUrl).port || 5432),
  username,
  password: REGISTRY_PASSWORD,
  db_name: "postgres",
  db_type: "postgres",
  connect_timeout_secs: 5,
  idle_timeout_secs: 30,
  max_open_connections: 5,
  max_idle_connections: 2,
  ...overrides,
});

describe("dead-letter operations (spec §5)", () => {
  let sys: RunningSystem;
  let pg: Client;
  const createdDbs: string[] = [];

  // Tenant A (the one under test), tenant B (same org, another project), tenant C (another org).
  let orgId: string;
  let projectId: string;
  let operator: Record<string, string>;
  let member: Record<string, string>;
  let admin: Record<string, string>;
  let otherProject: Record<string, string>;
  let otherSpace: Record<string, string>;
  let otherOrg: Record<string, string>;
  let broken: Record<string, string>;
  let brokenMember: Record<string, string>;
  let brokenSpace: Record<string, string>;

  const get = (path: string, headers = operator) => call(sys.baseUrl, "GET", path, { headers });
  const post = (path: string, headers = operator, body?: unknown) => call(sys.baseUrl, "POST", path, { headers, ...(body !== undefined ? { body } : {}) });
  const del = (path: string, headers = operator) => call(sys.baseUrl, "DELETE", path, { headers });

  async function createOrg(abbreviation: string): Promise<string> {
    const id = newUlid();
    const res = await call(sys.baseUrl, "POST", "/orgs", {
      headers: sk,
      body: { org_id: id, name: abbreviation, abbreviation, admin_email: `a@${abbreviation}.test`, admin_name: "A", address: "1 St", state: "CA", country: "US", pin_code: "94000" },
    });
    expect(res.status).toBe(201);
    return id;
  }

  async function createProject(org: string, abbreviation: string, username: string, extra: Record<string, unknown>[] = []) {
    const res = await call(sys.baseUrl, "POST", `/orgs/${org}/projects`, { headers: sk, body: { name: abbreviation, abbreviation, database: [dbEntry(username), ...extra] } });
    expect(res.status).toBe(201);
    return { projectId: res.body.project_id as string, spaceId: res.body.space_id as string };
  }

  async function tokenFor(org: string, role: string, project: string, space: string): Promise<Record<string, string>> {
    const key = await call(sys.baseUrl, "POST", `/orgs/${org}/api-keys`, { headers: sk, body: { name: `${role}-${project}`, role, project_id: project, space_id: space } });
    expect(key.status).toBe(201);
    const tok = await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: key.body.api_key } });
    return { authorization: `Bearer ${tok.body.access_token}` };
  }

  async function apply(body: Record<string, unknown>) {
    const res = await post("/resources/apply", operator, { lifecycle_state: "pending", ...body });
    expect(res.status).toBe(200);
    return res.body;
  }

  const resourcePath = (p: string, t: string, n: string) => `/resources/${encodeURIComponent(`resource:${p}_${t}_${n}`)}`;

  async function waitForState(p: string, t: string, n: string, state: string, timeoutMs = 30_000) {
    return waitFor(
      async () => {
        const r = await get(resourcePath(p, t, n));
        return r.body?.lifecycle_state === state ? r.body : undefined;
      },
      { timeoutMs, intervalMs: 100, message: `${p}/${t}/${n} never became ${state}` },
    );
  }

  async function waitForEntry(name: string) {
    return waitFor(
      async () => {
        const list = await get("/ops/dead-letter");
        return (list.body as any[]).find((e) => e.resource_name === name);
      },
      { timeoutMs: 30_000, intervalMs: 100, message: `no dead-letter entry for ${name}` },
    );
  }

  /**
   * A resource with a valid config in the "broken" project, whose registered servers
   * refuse us: postgres names a login role that does not exist (permanent, dead-lettered
   * at once), mysql points at a closed port (transient: retried, then dead-lettered).
   */
  async function poison(name: string, provider: "postgres" | "mysql" = "postgres") {
    const dbName = `dl_${name.replace(/-/g, "_")}_${newUlid().slice(-6).toLowerCase()}`;
    const res = await post("/resources/apply", broken, { provider, resource: "database", name, config: { name: dbName }, lifecycle_state: "pending" });
    expect(res.status).toBe(200);
    return waitFor(
      async () => ((await get("/ops/dead-letter", broken)).body as any[]).find((e) => e.event_id === res.body.pending_event_id),
      { timeoutMs: 30_000, intervalMs: 100, message: `no dead-letter entry for ${name}` },
    );
  }

  function expectNoSecrets(text: string) {
    expect(text).not.toContain(REGISTRY_PASSWORD);
  }

  beforeAll(async () => {
    // Short tiers and one retry keep transient failures quick; the registry password is never a secret the DB checks here.
    sys = await startSystem("dead-letter", { RETRY_TIERS_MS: "200", MAX_RETRIES: "1" });
    pg = new Client({ connectionString: testInfraUrls().databaseUrl });
    await pg.connect();

    orgId = await createOrg("dlacme");
    const a = await createProject(orgId, "web", "no_such_role");
    projectId = a.projectId;
    operator = await tokenFor(orgId, "operator", a.projectId, a.spaceId);
    member = await tokenFor(orgId, "member", a.projectId, a.spaceId);
    admin = await tokenFor(orgId, "admin", a.projectId, a.spaceId);
    const b = await createProject(orgId, "api", "postgres");
    otherProject = await tokenFor(orgId, "operator", b.projectId, b.spaceId);
    const space = await call(sys.baseUrl, "POST", `/orgs/${orgId}/projects/${a.projectId}/spaces`, { headers: sk, body: { name: "staging" } });
    expect(space.status).toBe(201);
    otherSpace = { ...operator, "x-space-id": space.body.space_id };
    const bad = await createProject(orgId, "broken", "no_such_role", [dbEntry("root", { port: "1", db_type: "mysql", db_name: "mysql", connect_timeout_secs: 2 })]);
    broken = await tokenFor(orgId, "operator", bad.projectId, bad.spaceId);
    brokenMember = await tokenFor(orgId, "member", bad.projectId, bad.spaceId);
    const badSpace = await call(sys.baseUrl, "POST", `/orgs/${orgId}/projects/${bad.projectId}/spaces`, { headers: sk, body: { name: "staging" } });
    expect(badSpace.status).toBe(201);
    brokenSpace = { ...broken, "x-space-id": badSpace.body.space_id };
    const orgC = await createOrg("dlother");
    const c = await createProject(orgC, "web", "postgres");
    otherOrg = await tokenFor(orgC, "operator", c.projectId, c.spaceId);
  }, 60_000);

  afterAll(async () => {
    for (const db of createdDbs) await pg?.query(`DROP DATABASE IF EXISTS "${db}" WITH (FORCE)`).catch(() => undefined);
    await pg?.end();
    await sys?.stop();
  });

  it("acceptance: wrong credentials dead-letter; fix them, retry, and the database exists", async () => {
    const dbName = `dl_accept_${newUlid().slice(-8).toLowerCase()}`;
    createdDbs.push(dbName);
    const applied = await apply({ provider: "postgres", resource: "database", name: dbName, config: { name: dbName } });
    expect(applied.lifecycle_state).toBe("pending");

    const failed = await waitForState("postgres", "database", dbName, "failed");
    expect(failed.error).toMatch(/no_such_role/);

    const entry = await waitForEntry(dbName);
    expect(entry).toMatchObject({
      event_id: applied.pending_event_id,
      provider: "postgres",
      resource_type: "database",
      resource_name: dbName,
      resource_id: `resource:postgres_database_${dbName}`,
      event_type: "CREATE",
      project_id: projectId,
      reason: "permanent_error",
    });
    expect(entry.payload.config).toEqual({ name: dbName });
    expect(entry.error_message).toMatch(/role "no_such_role" does not exist/);
    expect(entry.attempt_count).toBeGreaterThanOrEqual(1);
    expect(entry.attempts.length).toBeGreaterThanOrEqual(1);
    expect(entry.attempts[entry.attempts.length - 1].error).toMatch(/no_such_role/);
    expect(typeof entry.correlation_id).toBe("string");
    expect(Date.parse(entry.failed_at)).not.toBeNaN();

    const one = await get(`/ops/dead-letter/${entry.event_id}`);
    expect(one.status).toBe(200);
    expect(one.body).toEqual(entry);
    expectNoSecrets(one.text);

    const patched = await call(sys.baseUrl, "PATCH", `/orgs/${orgId}/projects/${projectId}`, { headers: sk, body: { database: [dbEntry("postgres")] } });
    expect(patched.status).toBe(200);

    const retried = await post(`/ops/dead-letter/${entry.event_id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({
      provider: "postgres",
      resource_type: "database",
      resource_name: dbName,
      event_type: "CREATE",
      previous_config: null,
      status: "pending",
      published_at: null,
    });
    expect(retried.body.event_id).toMatch(/^evt_/);
    expect(retried.body.event_id).not.toBe(entry.event_id);
    expect(retried.body.payload.config).toEqual({ name: dbName });
    expect(typeof retried.body.correlation_id).toBe("string");
    expect(Date.parse(retried.body.created_at)).not.toBeNaN();

    // The entry is gone: a second retry queues nothing.
    expect((await post(`/ops/dead-letter/${entry.event_id}/retry`)).status).toBe(404);
    expect((await get(`/ops/dead-letter/${entry.event_id}`)).status).toBe(404);

    const ready = await waitForState("postgres", "database", dbName, "ready");
    expect(ready.error).toBeNull();
    const rows = await pg.query("SELECT 1 FROM pg_database WHERE datname = $1", [dbName]);
    expect(rows.rowCount).toBe(1);
    expect((await get("/ops/dead-letter")).body.find((e: any) => e.resource_name === dbName)).toBeUndefined();
  });

  it("transient failures are retried, then dead-lettered as `rejected` with per-attempt history; no response shows the registry password", async () => {
    const entry = await poison("flaky-mysql", "mysql");
    expect(entry.reason).toBe("rejected");
    // MAX_RETRIES=1: the first try and one retry.
    expect(entry.attempt_count).toBe(2);
    expect(entry.attempts).toHaveLength(2);
    for (const a of entry.attempts) expect(a.error).toMatch(/ECONNREFUSED|connect/i);
    expect(Date.parse(entry.attempts[0].at)).toBeLessThanOrEqual(Date.parse(entry.attempts[1].at));

    const texts = [(await get("/ops/dead-letter", broken)).text, (await get(`/ops/dead-letter/${entry.event_id}`, broken)).text, (await get("/ops/dead-letter?provider=mysql", broken)).text];
    const retried = await post(`/ops/dead-letter/${entry.event_id}/retry`, broken);
    expect(retried.status).toBe(200);
    texts.push(retried.text);
    // Still refused: it dead-letters again under the new event id.
    const again = await waitFor(
      async () => ((await get("/ops/dead-letter", broken)).body as any[]).find((e) => e.event_id === retried.body.event_id),
      { timeoutMs: 30_000, intervalMs: 100, message: "retried event never dead-lettered again" },
    );
    texts.push(JSON.stringify(again));
    for (const t of texts) expectNoSecrets(t);
    await del(`/ops/dead-letter/${again.event_id}`, broken);
  });

  it("roles: member is 403, operator and admin may", async () => {
    for (const [method, path] of [
      ["GET", "/ops/dead-letter"],
      ["GET", "/ops/dead-letter/evt_x"],
      ["POST", "/ops/dead-letter/evt_x/retry"],
      ["POST", "/ops/dead-letter/retry-all"],
      ["DELETE", "/ops/dead-letter/evt_x"],
      ["DELETE", "/ops/dead-letter?all=true"],
    ] as const) {
      expect((await call(sys.baseUrl, method, path, { headers: member })).status).toBe(403);
    }
    expect((await get("/ops/dead-letter", admin)).status).toBe(200);
    expect((await call(sys.baseUrl, "GET", "/ops/dead-letter")).status).toBe(401);
  });

  it("unknown ids: GET and retry 404, DELETE 204; bulk delete without a choice is 400", async () => {
    expect((await get("/ops/dead-letter/evt_01UNKNOWN")).status).toBe(404);
    expect((await get("/ops/dead-letter/evt_01UNKNOWN")).body.code).toBe("NOT_FOUND");
    expect((await post("/ops/dead-letter/evt_01UNKNOWN/retry")).status).toBe(404);
    const gone = await del("/ops/dead-letter/evt_01UNKNOWN");
    expect(gone.status).toBe(204);
    expect(gone.text).toBe("");
    for (const q of ["", "?all=false"]) {
      const bad = await del(`/ops/dead-letter${q}`);
      expect(bad.status).toBe(400);
      expect(bad.body.code).toBe("BAD_REQUEST");
    }
  });

  it("filters by provider, retries all, deletes one, and bulk deletes by provider and by all", async () => {
    await del("/ops/dead-letter?all=true", broken);
    const p1 = await poison("bulk-1");
    const p2 = await poison("bulk-2");
    const m1 = await poison("bulk-3", "mysql");

    const all = await get("/ops/dead-letter", broken);
    expect((all.body as any[]).map((e) => e.event_id).sort()).toEqual([p1.event_id, p2.event_id, m1.event_id].sort());
    const onlyMysql = await get("/ops/dead-letter?provider=mysql", broken);
    expect((onlyMysql.body as any[]).map((e) => e.event_id)).toEqual([m1.event_id]);
    expect((await get("/ops/dead-letter?provider=nothing", broken)).body).toEqual([]);

    // retry-all by provider touches only that provider's entries; they fail again under new ids.
    expect((await post("/ops/dead-letter/retry-all?provider=postgres", broken)).body).toEqual({ retried_count: 2 });
    expect((await get(`/ops/dead-letter/${m1.event_id}`, broken)).status).toBe(200);
    expect((await get(`/ops/dead-letter/${p1.event_id}`, broken)).status).toBe(404);
    const refailed = await waitFor(
      async () => {
        const list = (await get("/ops/dead-letter?provider=postgres", broken)).body as any[];
        return list.length === 2 ? list : undefined;
      },
      { timeoutMs: 30_000, message: "re-failed postgres events" },
    );
    expect(refailed.map((e) => e.event_id)).not.toContain(p1.event_id);

    expect((await del(`/ops/dead-letter/${refailed[0].event_id}`, broken)).status).toBe(204);
    expect((await get(`/ops/dead-letter/${refailed[0].event_id}`, broken)).status).toBe(404);
    expect((await del("/ops/dead-letter?provider=postgres", broken)).body).toEqual({ deleted_count: 1 });
    expect((await get("/ops/dead-letter", broken)).body.map((e: any) => e.event_id)).toEqual([m1.event_id]);

    expect((await post("/ops/dead-letter/retry-all", broken)).body).toEqual({ retried_count: 1 });
    await waitFor(async () => ((await get("/ops/dead-letter", broken)).body as any[]).length === 1 || undefined, { timeoutMs: 30_000, message: "re-failed mysql event" });
    expect((await del("/ops/dead-letter?all=true", broken)).body).toEqual({ deleted_count: 1 });
    expect((await get("/ops/dead-letter", broken)).body).toEqual([]);
  });

  it("tenancy: another project, space or org never sees or acts on an entry", async () => {
    const entry = await poison("tenant-a");
    const brokenOtherSpace = { ...broken, "x-space-id": otherSpace["x-space-id"]! };
    for (const who of [brokenSpace, operator, otherProject, otherOrg]) {
      expect((await get("/ops/dead-letter", who)).body).toEqual([]);
      expect((await get(`/ops/dead-letter/${entry.event_id}`, who)).status).toBe(404);
      expect((await post(`/ops/dead-letter/${entry.event_id}/retry`, who)).status).toBe(404);
      expect((await post("/ops/dead-letter/retry-all", who)).body).toEqual({ retried_count: 0 });
      expect((await del(`/ops/dead-letter/${entry.event_id}`, who)).status).toBe(204);
      expect((await del("/ops/dead-letter?all=true", who)).body).toEqual({ deleted_count: 0 });
    }
    // A space of another project, or a project of another org, is a 404 at the edge.
    expect((await get("/ops/dead-letter", brokenOtherSpace)).status).toBe(404);
    expect((await get("/ops/dead-letter", { ...otherOrg, "x-project-id": projectId })).status).toBe(404);
    expect((await get(`/ops/dead-letter/${entry.event_id}`, brokenMember)).status).toBe(403);
    expect((await get(`/ops/dead-letter/${entry.event_id}`, broken)).status).toBe(200);
  });
});
