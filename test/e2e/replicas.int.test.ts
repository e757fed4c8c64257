import { newUlid } from "@pragma/ids";
import { createTestEnv, testInfraUrls, waitFor, type TestEnv } from "@pragma/testing";
// pg is a dependency of the services, not of the workspace root.
import { Client as Pg } from "../../services/resource-store/node_modules/pg";
import { readConfig as gatewayConfig } from "../../services/gateway/src/config";
import { startGateway } from "../../services/gateway/src/service";
import { readConfig as workerConfig } from "../../services/provider-worker/src/config";
import { startWorker } from "../../services/provider-worker/src/service";
import { tapBus, type BusTap } from "./bus-tap";
import { deliveriesPerConnection, spawnService, type ServiceProcess } from "./processes";
import { call, SERVER_KEY } from "./system";

/**
 * Every service as N replicas (architecture: "Where users outgrow one machine"): two
 * registry and two resource-store processes at once, on one database and one broker,
 * behind one gateway and one worker (both in this process; their own replica tests are
 * services/gateway/test/processes.int.test.ts and services/provider-worker/test/
 * processes.int.test.ts). Each store process relays the outbox and consumes results and
 * dead letters; each registry process answers rpc.registry.
 */
const sk = { "x-server-key": SERVER_KEY };
const N_RESOURCES = 120;
const N_DEAD = 12;

const dbEntry = (username: string) => ({
  host: "127.0.0.1",
  port: String(new URL(testInfraUrls().databaseUrl).port || 5432),
  username,
  password: "replicas-test-pw",
  db_name: "postgres",
  db_type: "postgres",
  connect_timeout_secs: 5,
  idle_timeout_secs: 30,
  max_open_connections: 5,
  max_idle_connections: 2,
});

const orgBody = (id: string, abbreviation: string) => ({
  org_id: id,
  name: abbreviation,
  abbreviation,
  admin_email: `a@${abbreviation}.test`,
  admin_name: "A",
  address: "1 St",
  state: "CA",
  country: "US",
  pin_code: "94000",
});

/** Runs `fn` over `items` with at most `n` at a time. */
async function pool<T, R>(items: T[], n: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!);
      }
    }),
  );
  return out;
}

const countBy = <T>(xs: T[]) => {
  const m = new Map<T, number>();
  for (const x of xs) m.set(x, (m.get(x) ?? 0) + 1);
  return m;
};

describe("two registry and two resource-store processes at once", () => {
  jest.setTimeout(300_000);
  let env: TestEnv;
  let pg: Pg;
  let tap: BusTap;
  let baseUrl: string;
  const registries: ServiceProcess[] = [];
  const stores: ServiceProcess[] = [];
  const inProcess: (() => Promise<void>)[] = [];

  const serviceEnv = () => ({
    DATABASE_URL: env.databaseUrl,
    AMQP_URL: env.amqpUrl,
    REDIS_URL: env.redisUrl,
    REDIS_KEY_PREFIX: env.redisPrefix,
    // Small batches, so both relays take part in a burst instead of one draining it.
    OUTBOX_BATCH: "10",
  });

  const sql = async <T extends Record<string, unknown>>(text: string, values: unknown[] = []) => (await pg.query<T>(text, values)).rows;

  beforeAll(async () => {
    env = await createTestEnv("replicas");
    // Both pairs start at once on an empty database: their migrations race, under the runner's lock.
    const started = await Promise.all([
      spawnService("registry", "registry-1", serviceEnv()),
      spawnService("registry", "registry-2", serviceEnv()),
      spawnService("resource-store", "store-1", serviceEnv()),
      spawnService("resource-store", "store-2", serviceEnv()),
    ]);
    registries.push(started[0], started[1]);
    stores.push(started[2], started[3]);

    const base: Record<string, string> = {
      NODE_ENV: "test",
      LOG_LEVEL: "silent",
      ...serviceEnv(),
      PRAGMA_SERVER_KEY: SERVER_KEY,
      GATEWAY_PORT: "0",
      RATE_LIMIT_RPS: "5000",
      RATE_LIMIT_BURST: "10000",
      // Correctness, not latency, is under test, on a machine that may be busy: four
      // services' first requests (tsx compiling on first use) can take seconds.
      RPC_TIMEOUT_MS: "30000",
    };
    // MAX_RETRIES=0: a failure is dead-lettered at once, so every message the tap sees on
    // the work exchange is a publish by a store's relay (a retry would come back through it).
    const worker = await startWorker(workerConfig({ ...base, PROVIDERS: "pragma,postgres", MAX_RETRIES: "0" }));
    inProcess.push(() => worker.stop());
    const gateway = await startGateway(gatewayConfig(base));
    inProcess.push(() => gateway.stop());
    baseUrl = `http://127.0.0.1:${gateway.port}`;
    tap = await tapBus(env.amqpUrl, ["pragma", "postgres"]);
    pg = new Pg({ connectionString: env.databaseUrl });
    await pg.connect();
  });

  afterAll(async () => {
    await tap?.close();
    await pg?.end();
    for (const stop of inProcess.reverse()) await stop().catch(() => undefined);
    await Promise.allSettled([...registries, ...stores].map((p) => p.stop()));
    await env?.dispose();
  });

  /**
   * Exactly two connections of a service on the vhost. Waited for: the management API lists a
   * connection only after its statistics are first collected (every 5 s), and in CI the
   * plugin was enabled moments before the tests started.
   */
  const twoConnections = (connectionName: string) =>
    waitFor(async () => ((await deliveriesPerConnection(env.vhost, connectionName)).length === 2 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 500,
      message: `not two ${connectionName} connections in the management API`,
    });

  /** Both processes of a service received messages (RPCs, results, dead letters). */
  const bothTookPart = (connectionName: string) =>
    waitFor(async () => ((await deliveriesPerConnection(env.vhost, connectionName)).filter((n) => n > 0).length === 2 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 500,
      message: `not both ${connectionName} processes received messages`,
    });

  describe("registry", () => {
    it("20 identical org creates and 20 identical project creates at once: one 201 each, the rest 208 with the same ids, one row each", async () => {
      const orgId = newUlid();
      const orgs = await Promise.all(Array.from({ length: 20 }, () => call(baseUrl, "POST", "/orgs", { headers: sk, body: orgBody(orgId, `rep${orgId.slice(-8).toLowerCase()}`) })));
      expect(orgs.map((r) => r.status).sort()).toEqual([201, ...Array(19).fill(208)]);
      expect(new Set(orgs.map((r) => r.body.org_id))).toEqual(new Set([orgId]));

      const body = { name: "Web", abbreviation: "web", database: [dbEntry("postgres")] };
      const projects = await Promise.all(Array.from({ length: 20 }, () => call(baseUrl, "POST", `/orgs/${orgId}/projects`, { headers: sk, body })));
      expect(projects.map((r) => r.status).sort()).toEqual([201, ...Array(19).fill(208)]);
      expect(new Set(projects.map((r) => r.headers.get("x-project-id"))).size).toBe(1);
      expect(new Set(projects.map((r) => r.headers.get("x-space-id"))).size).toBe(1);

      expect(await sql("SELECT id FROM registry.orgs WHERE id = $1", [orgId])).toHaveLength(1);
      expect(await sql("SELECT 1 FROM registry.projects WHERE org_id = $1", [orgId])).toHaveLength(1);
      expect(await sql("SELECT 1 FROM registry.spaces s JOIN registry.projects p ON p.id = s.project_id WHERE p.org_id = $1", [orgId])).toHaveLength(1);
    });

    it("30 different orgs at once, each with a project: all 201, both processes answered", async () => {
      const ids = Array.from({ length: 30 }, () => newUlid());
      const made = await Promise.all(ids.map((id) => call(baseUrl, "POST", "/orgs", { headers: sk, body: orgBody(id, `m${id.slice(-10).toLowerCase()}`) })));
      expect(made.map((r) => r.status)).toEqual(Array(30).fill(201));
      const projects = await Promise.all(ids.map((id) => call(baseUrl, "POST", `/orgs/${id}/projects`, { headers: sk, body: { name: "P", abbreviation: "p", database: [dbEntry("postgres")] } })));
      expect(projects.map((r) => r.status)).toEqual(Array(30).fill(201));
      const rows = await sql<{ n: string }>("SELECT count(*) AS n FROM registry.orgs WHERE id = ANY($1::text[])", [ids]);
      expect(Number(rows[0]!.n)).toBe(30);
      // Two consumers on rpc.registry: the creates went to both.
      await twoConnections("registry");
      await bothTookPart("registry");
    });
  });

  describe("resource-store", () => {
    let orgId: string;
    let member: Record<string, string>;
    let operator: Record<string, string>;

    const tokenFor = async (role: string, projectId: string, spaceId: string) => {
      const key = await call(baseUrl, "POST", `/orgs/${orgId}/api-keys`, { headers: sk, body: { name: `${role}-${projectId}`, role, project_id: projectId, space_id: spaceId } });
      expect(key.status).toBe(201);
      const tok = await call(baseUrl, "POST", "/auth/token", { body: { api_key: key.body.api_key } });
      expect(tok.status).toBe(200);
      return { authorization: `Bearer ${tok.body.access_token}` };
    };
    const apply = (headers: Record<string, string>, body: Record<string, unknown>) => call(baseUrl, "POST", "/resources/apply", { headers, body: { lifecycle_state: "pending", ...body } });
    const stateOf = async (headers: Record<string, string>, provider: string, type: string, name: string) =>
      (await call(baseUrl, "GET", `/resources/${encodeURIComponent(`resource:${provider}_${type}_${name}`)}`, { headers })).body?.lifecycle_state as string | undefined;
    const outboxFor = (resourceIds: string[]) =>
      sql<{ event_id: string; status: string }>("SELECT event_id, status FROM resource_store.outbox_events WHERE resource_id = ANY($1::text[])", [resourceIds]);

    beforeAll(async () => {
      orgId = newUlid();
      expect((await call(baseUrl, "POST", "/orgs", { headers: sk, body: orgBody(orgId, `st${orgId.slice(-8).toLowerCase()}`) })).status).toBe(201);
      const good = await call(baseUrl, "POST", `/orgs/${orgId}/projects`, { headers: sk, body: { name: "Good", abbreviation: "good", database: [dbEntry("postgres")] } });
      // Its registered server refuses the login role: postgres resources fail for good and are dead-lettered at once.
      const bad = await call(baseUrl, "POST", `/orgs/${orgId}/projects`, { headers: sk, body: { name: "Bad", abbreviation: "bad", database: [dbEntry("no_such_role_replicas")] } });
      expect([good.status, bad.status]).toEqual([201, 201]);
      member = await tokenFor("member", good.body.project_id, good.body.space_id);
      operator = await tokenFor("operator", bad.body.project_id, bad.body.space_id);
    });

    it(`${N_RESOURCES} applies through both stores: every event relayed once, every resource ready`, async () => {
      const names = Array.from({ length: N_RESOURCES }, (_, i) => `rep-${i}`);
      const applied = await pool(names, 24, (name) => apply(member, { provider: "pragma", resource: "config", name, config: { n: name } }));
      expect(applied.map((r) => r.status)).toEqual(Array(N_RESOURCES).fill(200));
      const ids = applied.map((r) => r.body.id as string);
      const eventIds = applied.map((r) => r.body.pending_event_id as string);
      expect(new Set(eventIds).size).toBe(N_RESOURCES);

      await waitFor(async () => (await pool(names, 12, (n) => stateOf(member, "pragma", "config", n))).every((s) => s === "ready") || undefined, {
        timeoutMs: 90_000,
        intervalMs: 500,
        message: "not every resource became ready",
      });
      // The tap sees every publish to the work exchange: each event exactly once.
      const seen = countBy(tap.events.filter((e) => ids.includes(e.resource_id)).map((e) => e.event_id));
      expect([...seen.keys()].sort()).toEqual([...eventIds].sort());
      expect([...seen.values()].filter((n) => n !== 1)).toEqual([]);
      const outbox = await outboxFor(ids);
      expect(outbox).toHaveLength(N_RESOURCES);
      expect(outbox.every((r) => r.status === "published")).toBe(true);
      // One result per event reached the store: a succeeded result each, ingested by whichever process.
      const succeeded = countBy(tap.results.filter((r) => r.type === "provider.event.succeeded.v1" && eventIds.includes(r.event_id)).map((r) => r.event_id));
      expect(succeeded.size).toBe(N_RESOURCES);
      await twoConnections("resource-store");
      await bothTookPart("resource-store");
    });

    it(`${N_DEAD} dead letters ingested once across both processes; retry-all sent to both at once re-queues each entry once`, async () => {
      const names = Array.from({ length: N_DEAD }, (_, i) => `dl-${i}`);
      const applied = await Promise.all(names.map((name) => apply(operator, { provider: "postgres", resource: "database", name, config: { name: `rep_dl_${i(name)}_${newUlid().slice(-6).toLowerCase()}` } })));
      expect(applied.map((r) => r.status)).toEqual(Array(N_DEAD).fill(200));
      const firstEvents = applied.map((r) => r.body.pending_event_id as string);
      const list = async () => (await call(baseUrl, "GET", "/ops/dead-letter", { headers: operator })).body as { event_id: string; resource_name: string }[];
      await waitFor(async () => ((await list()).length >= N_DEAD ? true : undefined), { timeoutMs: 60_000, intervalMs: 200, message: "dead letters never all ingested" });
      const entries = await list();
      expect(entries.map((e) => e.event_id).sort()).toEqual([...firstEvents].sort());
      for (const n of names) expect(await stateOf(operator, "postgres", "database", n)).toBe("failed");
      // Each ingested by exactly one process (the log line each writes per stored entry).
      const stored = stores.flatMap((s) => s.records("dead letter stored").map((r) => r.eventId as string)).filter((id) => firstEvents.includes(id));
      expect(stored.sort()).toEqual([...firstEvents].sort());

      // Four retry-alls at once: the RPC queue hands them to both processes in turn.
      const before = tap.events.length;
      const retried = await Promise.all(Array.from({ length: 4 }, () => call(baseUrl, "POST", "/ops/dead-letter/retry-all", { headers: operator })));
      expect(retried.map((r) => r.status)).toEqual([200, 200, 200, 200]);
      expect(retried.reduce((sum, r) => sum + (r.body.retried_count as number), 0)).toBe(N_DEAD);
      // One new event per resource reaches the workers, and each fails again under its new id.
      const resourceIds = applied.map((r) => r.body.id as string);
      await waitFor(async () => (tap.events.slice(before).filter((e) => resourceIds.includes(e.resource_id)).length >= N_DEAD ? true : undefined), {
        timeoutMs: 30_000,
        message: "retried events never published",
      });
      await waitFor(async () => ((await list()).length >= N_DEAD ? true : undefined), { timeoutMs: 60_000, intervalMs: 200, message: "retried events never dead-lettered again" });
      await new Promise((r) => setTimeout(r, 1_000)); // room for a duplicate to show up
      const again = tap.events.slice(before).filter((e) => resourceIds.includes(e.resource_id));
      expect(again).toHaveLength(N_DEAD);
      expect(new Set(again.map((e) => e.resource_id)).size).toBe(N_DEAD);
      const secondEntries = await list();
      expect(secondEntries.map((e) => e.event_id).sort()).toEqual(again.map((e) => e.event_id).sort());
      expect((await sql("SELECT 1 FROM resource_store.dead_letters WHERE resource_id = ANY($1::text[])", [resourceIds])).length).toBe(N_DEAD);
    });

    it("a store process SIGKILLed during a burst: the other relays what it committed, nothing is lost", async () => {
      const names = Array.from({ length: 80 }, (_, i) => `kill-${i}`);
      const victim = stores[0]!;
      // Clients retry a request that failed (the victim held it when it died), as any HTTP client would.
      const applyWithRetry = async (name: string) => {
        for (let attempt = 0; ; attempt++) {
          const r = await apply(member, { provider: "pragma", resource: "config", name, config: { n: name } });
          if (r.status === 200 || attempt >= 5) return r;
        }
      };
      const burst = pool(names, 16, applyWithRetry);
      await waitFor(async () => ((await sql("SELECT 1 FROM resource_store.resources WHERE name LIKE 'kill-%'")).length >= 20 ? true : undefined), {
        timeoutMs: 30_000,
        intervalMs: 20,
        message: "burst never started",
      });
      await victim.stop("SIGKILL");
      const applied = await burst;
      expect(applied.map((r) => r.status)).toEqual(Array(names.length).fill(200));

      await waitFor(async () => (await pool(names, 12, (n) => stateOf(member, "pragma", "config", n))).every((s) => s === "ready") || undefined, {
        timeoutMs: 90_000,
        intervalMs: 500,
        message: "not every resource became ready after a store died",
      });
      const ids = [...new Set(applied.map((r) => r.body.id as string))];
      const outbox = await outboxFor(ids);
      expect(outbox.every((r) => r.status === "published")).toBe(true);
      // Every committed event reached the work exchange. One the victim published but
      // had not marked may go out again from the survivor (at-least-once; results for a
      // superseded or settled event change nothing): at most the victim's batch size.
      const seen = countBy(tap.events.filter((e) => ids.includes(e.resource_id)).map((e) => e.event_id));
      expect(outbox.map((r) => r.event_id).filter((id) => !seen.has(id))).toEqual([]);
      expect([...seen.values()].filter((n) => n > 1).length).toBeLessThanOrEqual(10);
    });
  });
});

/** The digits of a `dl-<n>` name, for a database name. */
function i(name: string): string {
  return name.replace(/\D/g, "");
}
