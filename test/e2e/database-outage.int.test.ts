/**
 * Issue 27, items 1 and 3: the services survive a PostgreSQL restart and answer an outage
 * with 503 + Retry-After (readiness naming postgres), then recover without a restart.
 * The database is a private cluster of this test's own (startPrivatePostgres): stopping
 * the machine's shared server would break every other session.
 */
import { newUlid } from "@pragma/ids";
import { startPrivatePostgres, waitFor, type PrivatePostgres } from "@pragma/testing";
import { call, SERVER_KEY, startSystem, type RunningSystem } from "./system";
import { createOrg, rid, type Client, type Org } from "./tenant";

jest.setTimeout(240_000);

const sk = { "x-server-key": SERVER_KEY };
const config = (name: string) => ({ provider: "pragma", resource: "config", name, config: { n: name }, lifecycle_state: "pending" });

let pg: PrivatePostgres | undefined;
let sys: RunningSystem;
let org: Org;
let client: Client;
let apiKey: string;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  // Registry and store on the private cluster; broker and Redis are the test env's own vhost and prefix.
  sys = await startSystem("dbfault", { DATABASE_URL: pg.url("pragma_outage") });
  org = await createOrg(sys.baseUrl);
  client = org.client();
  const key = await call(sys.baseUrl, "POST", `/orgs/${org.orgId}/api-keys`, { headers: sk, body: { name: "outage", role: "member" } });
  expect(key.status).toBe(201);
  apiKey = key.body.api_key;
}, 180_000);

afterAll(async () => {
  await sys?.stop();
  await pg?.dispose();
});

/** Every resource of the space that is not ready (paginated list through the API). */
async function notReady(): Promise<{ id: string; lifecycle_state: string }[]> {
  const out: { id: string; lifecycle_state: string }[] = [];
  let cursor: string | undefined;
  do {
    const r = await client.list(`limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(r.status).toBe(200);
    for (const item of r.body as { id: string; lifecycle_state: string }[]) if (item.lifecycle_state !== "ready") out.push(item);
    cursor = r.headers.get("next_cursor") ?? undefined;
  } while (cursor);
  return out;
}

describe("a PostgreSQL restart under the running services", () => {
  it("keeps every service up: applies during the restart answer 2xx or 503 (never 500), and every accepted one becomes ready", async () => {
    // Idle pooled connections in the store (list) and the registry (org), as in the issue's reproduction.
    expect((await client.list("limit=5")).status).toBe(200);
    expect((await call(sys.baseUrl, "GET", `/orgs/${org.orgId}`, { headers: sk })).status).toBe(200);

    const accepted: string[] = [];
    const statuses: number[] = [];
    let stop = false;
    // Three clients applying side by side, so connections are checked out when the server goes.
    const trickle = Promise.all(
      [0, 1, 2].map(async (lane) => {
        for (let i = 0; !stop; i++) {
          const name = `r${lane}-${i}-${newUlid().slice(-6).toLowerCase()}`;
          const r = await client.apply(config(name));
          statuses.push(r.status);
          if (r.status === 200 || r.status === 201) accepted.push(rid({ provider: "pragma", resource: "config", name }));
          else expect(r.headers.get("retry-after")).toMatch(/^\d+$/);
          await new Promise((res) => setTimeout(res, 50));
        }
      }),
    );
    await waitFor(async () => (accepted.length >= 5 ? true : undefined), { timeoutMs: 30_000, intervalMs: 50, message: "no apply accepted before the restart" });
    await pg!.restart();
    const afterRestart = accepted.length;
    await waitFor(async () => (accepted.length >= afterRestart + 10 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 100,
      message: "applies were not accepted again after the restart",
    });
    stop = true;
    await trickle;

    expect(statuses.filter((s) => s !== 200 && s !== 201 && s !== 503)).toEqual([]);
    await waitFor(async () => ((await notReady()).length === 0 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 500,
      message: "resources stayed pending/processing after the restart",
    });
    for (const id of accepted) expect((await client.get(id)).body.lifecycle_state).toBe("ready");
    // The registry recovered as well: a fresh token and the org.
    expect((await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: apiKey } })).status).toBe(200);
    expect((await call(sys.baseUrl, "GET", `/orgs/${org.orgId}`, { headers: sk })).status).toBe(200);
  });
});

describe("a PostgreSQL outage", () => {
  it("answers 503 with Retry-After (apply, list, token, org), readiness 503 naming postgres; all recover when it is back", async () => {
    const before = await client.apply(config(`before-${newUlid().slice(-6).toLowerCase()}`));
    expect(before.status).toBe(200);
    await pg!.stop();
    try {
      const answers = {
        apply: await client.apply(config(`during-${newUlid().slice(-6).toLowerCase()}`)),
        list: await client.list("limit=5"),
        token: await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: apiKey } }),
        org: await call(sys.baseUrl, "GET", `/orgs/${org.orgId}`, { headers: sk }),
      };
      for (const [what, r] of Object.entries(answers)) {
        expect({ what, status: r.status }).toEqual({ what, status: 503 });
        expect(r.headers.get("retry-after")).toMatch(/^[1-9]\d*$/);
        expect(r.body).toMatchObject({ code: "UNAVAILABLE", detail: expect.stringContaining("postgres") });
        // The driver's message (host, port, user) stays inside.
        expect(r.text).not.toMatch(/127\.0\.0\.1|ECONNREFUSED|postgres@/);
      }
      const ready = await waitFor(
        async () => {
          const r = await call(sys.baseUrl, "GET", "/health/ready");
          return r.status === 503 ? r : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 250, message: "readiness never reported postgres down" },
      );
      expect(ready.body.down).toEqual(["postgres"]);
      expect(ready.body.checks.postgres.status).toBe("down");
    } finally {
      await pg!.start();
    }

    // Back without restarting any service.
    await waitFor(async () => ((await call(sys.baseUrl, "GET", "/health/ready")).status === 200 ? true : undefined), {
      timeoutMs: 60_000,
      intervalMs: 250,
      message: "readiness never recovered",
    });
    const name = `after-${newUlid().slice(-6).toLowerCase()}`;
    const after = await waitFor(
      async () => {
        const r = await client.apply(config(name));
        return r.status === 503 ? undefined : r;
      },
      { timeoutMs: 30_000, intervalMs: 250, message: "apply kept answering 503" },
    );
    expect(after.status).toBe(200);
    expect((await client.list("limit=5")).status).toBe(200);
    expect((await call(sys.baseUrl, "POST", "/auth/token", { body: { api_key: apiKey } })).status).toBe(200);
    expect((await call(sys.baseUrl, "GET", `/orgs/${org.orgId}`, { headers: sk })).status).toBe(200);
    await client.waitFor(before.body.id, "ready", 60_000);
    await client.waitFor(rid({ provider: "pragma", resource: "config", name }), "ready", 60_000);
    expect(await notReady()).toEqual([]);
  });
});
