import { newUlid } from "@pragma/ids";
import { waitFor } from "@pragma/testing";
import { call, SERVER_KEY, startSystem, type RunningSystem } from "./system";

/**
 * The thinnest real path through all four services, over RabbitMQ, through the
 * gateway: org → project → API key → token → apply pragma/config pending → a
 * worker processes it → GET shows it ready with outputs.
 */
describe("walking skeleton", () => {
  let sys: RunningSystem;
  beforeAll(async () => {
    sys = await startSystem("skeleton");
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it("applies a pragma/config resource and sees it ready with outputs", async () => {
    const sk = { "x-server-key": SERVER_KEY };
    const orgId = newUlid();

    expect((await call(sys.baseUrl, "GET", "/health")).body).toEqual({ status: "ok" });

    const org = await call(sys.baseUrl, "POST", "/orgs", {
      headers: sk,
      body: {
        org_id: orgId,
        name: "Acme",
        abbreviation: "acme",
        admin_email: "admin@acme.test",
        admin_name: "Ada",
        address: "1 Main St",
        state: "CA",
        country: "US",
        pin_code: "94000",
      },
    });
    expect(org.status).toBe(201);
    expect(org.body.org_id).toBe(orgId);

    const project = await call(sys.baseUrl, "POST", `/orgs/${orgId}/projects`, {
      headers: sk,
      body: {
        name: "Web",
        abbreviation: "web",
        database: [
          {
            host: "127.0.0.1",
            port: "5432",
            username: "postgres",
            password: "skeleton-password-marker",
            db_name: "postgres",
            db_type: "postgres",
            connect_timeout_secs: 5,
            idle_timeout_secs: 30,
            max_open_connections: 5,
            max_idle_connections: 2,
          },
        ],
      },
    });
    expect(project.status).toBe(201);
    const projectId = project.headers.get("x-project-id");
    const spaceId = project.headers.get("x-space-id");
    expect(projectId).toMatch(/^prj_/);
    expect(spaceId).toMatch(/^spc_/);
    expect(project.text).not.toContain("skeleton-password-marker");

    const key = await call(sys.baseUrl, "POST", `/orgs/${orgId}/api-keys`, {
      headers: sk,
      body: { name: "ci", role: "member", project_id: projectId, space_id: spaceId },
    });
    expect(key.status).toBe(201);
    expect(key.body.api_key).toMatch(/^pk_/);

    const token = await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: key.body.api_key } });
    expect(token.status).toBe(200);
    expect(token.body.token_type).toBe("bearer");
    const auth = { authorization: `Bearer ${token.body.access_token}` };

    const applied = await call(sys.baseUrl, "POST", "/resources/apply", {
      headers: auth,
      body: { provider: "pragma", resource: "config", name: "app-settings", config: { region: "eu", replicas: 3 }, lifecycle_state: "pending" },
    });
    expect(applied.status).toBe(200);
    expect(applied.body.id).toBe("resource:pragma_config_app-settings");
    expect(applied.body.lifecycle_state).toBe("pending");
    expect(applied.body.pending_event_id).toMatch(/^evt_/);

    const ready = await waitFor(
      async () => {
        const got = await call(sys.baseUrl, "GET", `/resources/${encodeURIComponent("resource:pragma_config_app-settings")}`, { headers: auth });
        return got.body?.lifecycle_state === "ready" ? got : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 100, message: "resource never became ready" },
    );
    expect(ready.status).toBe(200);
    expect(ready.body.outputs).toEqual({ region: "eu", replicas: 3 });
    expect(ready.body.provisioned).toBe(true);
    expect(ready.body.error).toBeNull();
    expect(ready.headers.get("x-request-id")).toMatch(/^req_/);
  });
});
