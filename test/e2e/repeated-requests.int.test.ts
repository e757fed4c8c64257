import { newUlid } from "@pragma/ids";
import { RPC_QUEUES, deadLetterRequests, resourceRequests, type TenantScope } from "@pragma/contracts";
import { testInfraUrls, waitFor } from "@pragma/testing";
import { call, SERVER_KEY, startSystem, type RunningSystem } from "./system";
import { tapBus, type BusTap } from "./bus-tap";
import { createOrg, rid, type Client, type Org } from "./tenant";
import { createLogger } from "@pragma/logger";
import { createPool } from "../../services/resource-store/src/data/pg";
import { PgRequestAnswers } from "../../services/resource-store/src/data/request-answers.repository";
import { RequestAnswerPruner } from "../../services/resource-store/src/outbox/outbox-pruner";

/**
 * Issue 27.4: a write request the store has already executed is answered with its first
 * answer, never run again. A request redelivered to the store (the same request id and
 * body: after a crash between commit and ack, or re-sent after a lost reply) is published
 * here twice to the store's queue with the same correlation id; a client's retry carries
 * the same Idempotency-Key. The work exchange tap counts the events (hook runs) queued.
 */
let sys: RunningSystem;
let tap: BusTap;
let client: Client;
let scope: TenantScope;
let org: Org;
const name = () => `rq-${newUlid().slice(-8).toLowerCase()}`;

/** The same store request twice, as a redelivery brings it: same request id (correlation id), same body. */
async function twice<R>(contract: Parameters<BusTap["broker"]["request"]>[1], payload: unknown): Promise<[R, R]> {
  const correlationId = `req_${newUlid()}`;
  const send = () => tap.broker.request(RPC_QUEUES.resourceStore, contract as never, payload as never, { correlationId, timeoutMs: 30_000 }) as Promise<R>;
  const first = await send();
  return [first, await send()];
}

/** The events queued for `id` once the store has had time to publish any more. */
async function settledEvents(id: string, atLeast: number) {
  await waitFor(async () => (tap.eventsFor(id).length >= atLeast ? true : undefined), { timeoutMs: 30_000, intervalMs: 50, message: `fewer than ${atLeast} events for ${id}` });
  // A second (wrong) event would be published within the relay's poll; give it several.
  await new Promise((r) => setTimeout(r, 1_500));
  return tap.eventsFor(id);
}

beforeAll(async () => {
  sys = await startSystem("repeated-requests");
  tap = await tapBus(sys.env.amqpUrl);
  org = await createOrg(sys.baseUrl);
  client = org.client();
  scope = { org_id: org.orgId, project_id: org.projectId, space_id: org.spaceId };
}, 120_000);

afterAll(async () => {
  await tap?.close();
  await sys?.stop();
});

describe("a redelivered store request (same request id and body) runs once", () => {
  it("a first apply: one CREATE, and the repeat answers what the first did", async () => {
    const body = { provider: "pragma", resource: "config", name: name(), config: { k: "v" }, lifecycle_state: "pending" as const };
    const [first, again] = await twice<{ id: string; pending_event_id: string | null; lifecycle_state: string }>(resourceRequests.apply, { scope, body });
    expect(again).toEqual(first);
    const events = await settledEvents(first.id, 1);
    expect(events.map((e) => e.event_type)).toEqual(["CREATE"]);
  }, 60_000);

  it("an update of a ready resource: one UPDATE", async () => {
    const r = { provider: "pragma", resource: "config", name: name() };
    expect((await client.apply({ ...r, config: { k: "1" }, lifecycle_state: "pending" })).status).toBe(200);
    await client.waitFor(rid(r), "ready");
    const [first, again] = await twice<{ pending_event_id: string | null }>(resourceRequests.apply, { scope, body: { ...r, config: { k: "2" }, lifecycle_state: "pending" } });
    expect(again).toEqual(first);
    const events = await settledEvents(rid(r), 2);
    expect(events.map((e) => e.event_type)).toEqual(["CREATE", "UPDATE"]);
  }, 60_000);

  it("a delete: the repeat gets the first answer, not 409 for its own delete", async () => {
    const r = { provider: "pragma", resource: "config", name: name() };
    expect((await client.apply({ ...r, config: { k: "1" }, lifecycle_state: "pending" })).status).toBe(200);
    await client.waitFor(rid(r), "ready");
    const [first, again] = await twice<{ resource: { lifecycle_state: string } | null }>(resourceRequests.delete, { scope, id: rid(r) });
    expect(first.resource?.lifecycle_state).toBe("pending");
    expect(again).toEqual(first);
    const events = await settledEvents(rid(r), 2);
    expect(events.map((e) => e.event_type)).toEqual(["CREATE", "DELETE"]);
  }, 60_000);

  it("a dead-letter retry: the repeat gets the event it queued, not 404 for its own entry", async () => {
    // A project whose PostgreSQL login does not exist: its postgres resources fail for good at once.
    const port = String(new URL(testInfraUrls().databaseUrl).port || 5432);
    const database = [{ host: "127.0.0.1", port, username: "no_such_role", password: "unused", db_name: "postgres", db_type: "postgres", connect_timeout_secs: 5, idle_timeout_secs: 30, max_open_connections: 5, max_idle_connections: 2 }];
    const project = await call(sys.baseUrl, "POST", `/orgs/${org.orgId}/projects`, { headers: { "x-server-key": SERVER_KEY }, body: { name: "broken", abbreviation: "broken", database } });
    expect(project.status).toBe(201);
    const broken = { org_id: org.orgId, project_id: project.body.project_id as string, space_id: project.body.space_id as string };
    const n = `db_${newUlid().slice(-8).toLowerCase()}`;
    const applied = await tap.broker.request(RPC_QUEUES.resourceStore, resourceRequests.apply, {
      scope: broken,
      body: { provider: "postgres", resource: "database", name: n, config: { name: n }, lifecycle_state: "pending" },
    });
    const entry = await waitFor(
      async () => (await tap.broker.request(RPC_QUEUES.resourceStore, deadLetterRequests.list, { scope: broken })).find((e) => e.event_id === applied.pending_event_id),
      { timeoutMs: 30_000, intervalMs: 100, message: "no dead-letter entry" },
    );
    const [first, again] = await twice<{ event_id: string }>(deadLetterRequests.retry, { scope: broken, event_id: entry.event_id });
    expect(first.event_id).not.toBe(entry.event_id);
    expect(again).toEqual(first);
    expect((await settledEvents(applied.id, 2)).map((e) => e.event_id)).toEqual([entry.event_id, first.event_id]);
  }, 60_000);

  it("the same request id with another body is another request", async () => {
    const r = { provider: "pragma", resource: "config", name: name() };
    const correlationId = `req_${newUlid()}`;
    const send = (k: string) =>
      tap.broker.request(RPC_QUEUES.resourceStore, resourceRequests.apply, { scope, body: { ...r, config: { k }, lifecycle_state: "draft" } }, { correlationId });
    await send("1");
    const second = await send("2");
    expect(second.config).toEqual({ k: "2" });
  }, 60_000);
});

describe("the window", () => {
  it("answers are pruned past their retention, and a repeat after that runs again", async () => {
    const r = { provider: "pragma", resource: "config", name: name() };
    const payload = { scope, body: { ...r, config: { k: "1" }, lifecycle_state: "pending" as const } };
    const correlationId = `req_${newUlid()}`;
    const send = () => tap.broker.request(RPC_QUEUES.resourceStore, resourceRequests.apply, payload, { correlationId, timeoutMs: 30_000 });
    await send();
    await client.waitFor(rid(r), "ready");
    const pool = createPool(sys.env.databaseUrl, "resource_store", 1);
    try {
      const answers = new PgRequestAnswers(pool);
      const logger = createLogger({ service: "test", level: "silent" });
      // A day's retention keeps an answer recorded a moment ago: the repeat is answered, nothing runs.
      expect(await new RequestAnswerPruner({ answers, logger, retentionMs: 86_400_000, intervalMs: 60_000 }).pruneOnce()).toBe(0);
      expect((await send()).lifecycle_state).toBe("pending");
      expect((await settledEvents(rid(r), 1)).map((e) => e.event_type)).toEqual(["CREATE"]);
      // Seen from a clock a minute ahead with a zero retention, it is old: pruned, and the same request is new again.
      expect(await new RequestAnswerPruner({ answers, logger, retentionMs: 0, intervalMs: 60_000, now: () => Date.now() + 60_000 }).pruneOnce()).toBeGreaterThanOrEqual(1);
    } finally {
      await pool.end();
    }
    await send();
    expect((await settledEvents(rid(r), 2)).map((e) => e.event_type)).toEqual(["CREATE", "UPDATE"]);
  }, 60_000);
});

describe("POST /resources/apply with an Idempotency-Key", () => {
  async function fetchWithKey(key: string, body: Record<string, unknown>, c: Client = client) {
    const res = await fetch(`${c.baseUrl}/resources/apply`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${c.token}`, "x-project-id": c.projectId, "x-space-id": c.spaceId, "idempotency-key": key },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as any };
  }

  it("a retry gets the first answer and the hook runs once; the key with another body is 422", async () => {
    const r = { provider: "pragma", resource: "config", name: name() };
    const key = `"${newUlid()}"`;
    const body = { ...r, config: { k: "1" }, lifecycle_state: "pending" };
    const first = await fetchWithKey(key, body);
    expect(first.status).toBe(200);
    await client.waitFor(rid(r), "ready");
    // The client never saw the answer (a lost reply, a 503) and retries: the first answer again, nothing queued.
    const retry = await fetchWithKey(key, body);
    expect(retry.status).toBe(200);
    expect(retry.body).toEqual(first.body);
    expect((await settledEvents(rid(r), 1)).map((e) => e.event_type)).toEqual(["CREATE"]);

    const other = await fetchWithKey(key, { ...body, config: { k: "2" } });
    expect(other.status).toBe(422);
    expect(JSON.stringify(other.body.detail)).toContain("Idempotency-Key");
    // Nothing of it was written.
    expect((await client.get(rid(r))).body.config).toEqual({ k: "1" });
    // Another resource under a used key is the same mistake.
    const elsewhere = await fetchWithKey(key, { ...body, name: name() });
    expect(elsewhere.status).toBe(422);
    expect(tap.eventsFor(rid(r)).length).toBe(1);
  }, 60_000);

  it("the same key in another space is another request", async () => {
    const key = newUlid();
    const body = { provider: "pragma", resource: "config", name: name(), config: { k: "1" }, lifecycle_state: "draft" };
    expect((await fetchWithKey(key, body)).status).toBe(200);
    const there = org.client(org.projectId, await org.addSpace(org.projectId, name()));
    const res = await fetchWithKey(key, { ...body, config: { k: "2" } }, there);
    expect(res.status).toBe(200);
    expect(res.body.config).toEqual({ k: "2" });
  }, 60_000);

  it("a malformed key is 422 naming the header", async () => {
    const res = await fetchWithKey("has space", { provider: "pragma", resource: "config", name: name(), config: {}, lifecycle_state: "draft" });
    expect(res.status).toBe(422);
    expect(JSON.stringify(res.body.detail)).toContain("Idempotency-Key");
  }, 30_000);
});
