import pg from "pg";
import { RPC_QUEUES, registryRequests } from "@pragma/contracts";
import { newUlid } from "@pragma/ids";
import { createLogger } from "@pragma/logger";
import { connectBroker, type Broker } from "@pragma/messaging";
import { createTestEnv, type TestEnv } from "@pragma/testing";
import { Observer, TENANT, startTestWorker, work } from "./helpers";
import { database, registerProject } from "./registry";
import type { RunningWorker } from "../src/service";

/**
 * The worker keeps a project's credentials from the registry (CREDENTIALS_CACHE_MS, here
 * ten minutes so that nothing but the registry's notification can explain a fresh read):
 * a change the registry does not announce is not seen, a PATCH through the registry is
 * seen by the next event.
 */
describe("credentials from the registry: cached per project, dropped on the registry's project update", () => {
  let env: TestEnv;
  let worker: RunningWorker;
  let bus: Observer;
  let client: Broker;
  let registry: { close(): Promise<void> };
  let admin: pg.Client;
  let entry: ReturnType<typeof database>;
  const roles: string[] = [];

  beforeAll(async () => {
    env = await createTestEnv("worker-credentials");
    const url = new URL(env.databaseUrl);
    // A login role that does not exist: every connection fails until the registration is fixed.
    entry = database({ db_type: "postgres", port: url.port || "5432", db_name: url.pathname.slice(1), username: "no_such_role", password: decodeURIComponent(url.password) });
    registry = await registerProject(env, [entry]);
    ({ worker } = await startTestWorker(env, { PROVIDERS: "postgres", CREDENTIALS_CACHE_MS: "600000", MAX_RETRIES: "0" }));
    bus = await Observer.start(env);
    client = await connectBroker({ url: env.amqpUrl, logger: createLogger({ service: "test-client", level: "silent" }), connectionName: "test-client" });
    admin = new pg.Client({ connectionString: env.databaseUrl });
    await admin.connect();
  });
  afterAll(async () => {
    for (const r of roles) await admin?.query(`DROP ROLE IF EXISTS ${r}`).catch(() => undefined);
    await admin?.end();
    await client?.close();
    await bus?.close();
    await worker?.stop();
    await registry?.close();
    await env?.dispose();
  });

  const createRole = async () => {
    const name = `t_cred_${newUlid().slice(-10).toLowerCase()}`;
    roles.push(name);
    const w = work({ provider: "postgres", resource_type: "role", resource_name: name, event_type: "CREATE", config: { name } });
    await bus.publish(w);
    return bus.outcome(w.event_id, 20_000);
  };

  it("keeps using what the registry answered until the registry announces a change, then reads it again", async () => {
    const first = await createRole();
    expect(first.kind).toBe("failed");
    expect(first.payload.error).toMatch(/no_such_role/);

    // Fixed behind the registry's back: no notification, so the cached registration stays in use.
    const superuser = decodeURIComponent(new URL(env.databaseUrl).username) || "postgres";
    const fixed = await admin.query("UPDATE registry.project_databases SET username = $1 WHERE project_id = $2", [superuser, TENANT.project_id]);
    expect(fixed.rowCount).toBe(1);
    const cached = await createRole();
    expect(cached.kind).toBe("failed");
    expect(cached.payload.error).toMatch(/no_such_role/);

    // The same fix through the registry, which publishes registry.project.updated.v1 after its commit.
    await client.request(RPC_QUEUES.registry, registryRequests.updateProject, {
      org_id: TENANT.org_id,
      project_id: TENANT.project_id,
      body: { database: [{ ...entry, username: superuser }] },
      verify: false,
    });
    // The notification reaches the worker's own queue; the next event opens with the new registration.
    let after = await createRole();
    for (let i = 0; i < 20 && after.kind === "failed"; i++) {
      await new Promise((r) => setTimeout(r, 100));
      after = await createRole();
    }
    expect(after.kind).toBe("succeeded");
  });
});
