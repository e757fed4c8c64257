import { Client } from "pg";
import { newUlid } from "@pragma/ids";
import { createLogger } from "@pragma/logger";
import { connectBroker, declareTopology, handler, rpcQueueTopology, type Broker } from "@pragma/messaging";
import { createTestEnv, waitFor, type TestEnv } from "@pragma/testing";
import { AppError } from "@pragma/errors";
import { EXCHANGES, QUEUES, RPC_QUEUES, deadLetterRequests, resourceEvents, resourceWork, workerRequests, type ResourceWork, type TenantScope, workRoutingKey } from "@pragma/contracts";
import { readConfig } from "../src/config";
import { startResourceStore, type RunningStore } from "../src/service";

/**
 * The store alone, driven the way the broker and the worker drive it: dead letters are
 * published to pragma.dlx with the headers each producer sets, ops requests arrive on
 * rpc.resource-store, and re-queued work is read from a queue bound to pragma.work.
 */
const PROVIDER = "testprov";
const scope: TenantScope = { org_id: newUlid(), project_id: "prj_a", space_id: "spc_a" };
/** Lifecycle log lines the stand-in worker answers with, by event id. */

describe("resource store: dead letters", () => {
  let env: TestEnv;
  let store: RunningStore;
  let bus: Broker;
  let db: Client;
  const work: { payload: ResourceWork; headers: Record<string, unknown> }[] = [];
  /** Resource ids named by the store's change notifications (what the gateways' caches drop). */
  const changed: string[] = [];

  beforeAll(async () => {
    env = await createTestEnv("store-dead-letter");
    store = await startResourceStore(readConfig({ NODE_ENV: "test", LOG_LEVEL: "silent", DATABASE_URL: env.databaseUrl, AMQP_URL: env.amqpUrl, OUTBOX_POLL_MS: "50",
      // Retry-all in chunks of 2 entries, so a resource's entries and the ones retried and
      // skipped are spread over several transactions in every retry-all test here.
      DEAD_LETTER_RETRY_CHUNK: "2" }));
    bus = await connectBroker({ url: env.amqpUrl, logger: createLogger({ service: "test", level: "silent" }), connectionName: "test", requestTimeoutMs: 5000 });
    await bus.addTopology((ch) =>
      declareTopology(ch, {
        exchanges: [],
        queues: [{ name: QUEUES.workFor(PROVIDER), arguments: { "x-queue-type": "quorum" } }],
        // The relay routes a provider that is not built in by workRoutingKey (work.pushed's key).
        bindings: [{ source: EXCHANGES.work, destination: QUEUES.workFor(PROVIDER), routingKey: workRoutingKey(PROVIDER) }],
      }),
    );
    // A stand-in for the provider workers' RPC (the real ones are exercised end to end in test/e2e).
    await bus.addTopology(rpcQueueTopology(RPC_QUEUES.providerWorker));
    await bus.serve(RPC_QUEUES.providerWorker, {
      [workerRequests.listTypes.type]: handler(workerRequests.listTypes, async () => ({
        types: [
          {
            provider: PROVIDER,
            resource: "thing",
            description: "",
            schema: { type: "object", properties: { value: { type: "string", "x-sensitive": true, writeOnly: true }, size: { type: "number" } } },
            outputs_schema: {},
            sensitive_outputs: ["handle"],
            tags: [],
          },
        ],
      })),
    });
    await bus.consume(QUEUES.workFor(PROVIDER), resourceWork, async (d) => void work.push({ payload: d.payload, headers: d.headers }), { prefetch: 10 });
    await bus.addTopology((ch) =>
      declareTopology(ch, {
        exchanges: [],
        queues: [{ name: "test.resource-changes", arguments: { "x-queue-type": "classic" } }],
        bindings: [{ source: EXCHANGES.events, destination: "test.resource-changes", routingKey: resourceEvents.changed.type }],
      }),
    );
    await bus.consume("test.resource-changes", resourceEvents.changed, async (d) => void changed.push(...d.payload.resources.map((r) => r.resource_id)), { prefetch: 50 });
    db = new Client({ connectionString: env.databaseUrl });
    await db.connect();
  });

  afterAll(async () => {
    await db?.end();
    await bus?.close();
    await store?.stop();
    await env?.dispose();
  });

  async function seedResource(name: string, state: string, pendingEventId: string | null, config: Record<string, unknown> = { size: 1 }) {
    await db.query(
      `INSERT INTO resource_store.resources (row_id, org_id, project_id, space_id, resource_id, provider, resource_type, name, config, applied_config,
         dependencies, owner_references, outputs, error, lifecycle_state, pending_event_id, provisioned, tags, has_tags, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, 'thing', $7, $8, NULL, '[]', '[]', '{}', NULL, $9, $10, false, '{}', false, now(), now())`,
      [`res_${newUlid()}`, scope.org_id, scope.project_id, scope.space_id, `resource:${PROVIDER}_thing_${name}`, PROVIDER, name, JSON.stringify(config), state, pendingEventId],
    );
  }

  const resource = async (name: string) =>
    (await db.query(`SELECT lifecycle_state, pending_event_id, error FROM resource_store.resources WHERE resource_id = $1`, [`resource:${PROVIDER}_thing_${name}`])).rows[0];
  const entries = async () => (await db.query(`SELECT * FROM resource_store.dead_letters WHERE org_id = $1 ORDER BY failed_at`, [scope.org_id])).rows;

  function workFor(name: string, eventId: string, config: Record<string, unknown> = { size: 1 }): ResourceWork {
    return {
      event_id: eventId,
      event_type: "CREATE",
      resource_id: `resource:${PROVIDER}_thing_${name}`,
      provider: PROVIDER,
      resource_type: "thing",
      resource_name: name,
      ...scope,
      config,
      previous_config: null,
      outputs: null,
      created_at: new Date().toISOString(),
    };
  }

  const deadLetter = (w: ResourceWork, headers: Record<string, unknown>) =>
    bus.publish(resourceWork, w, {
      exchange: EXCHANGES.deadLetter,
      routingKey: w.provider,
      messageId: w.event_id,
      correlationId: "req_original",
      headers: { "x-org-id": scope.org_id, "x-project-id": scope.project_id, "x-space-id": scope.space_id, ...headers },
    });

  const brokerDeath = (reason: string) => ({
    "x-death": [{ reason, queue: QUEUES.workFor(PROVIDER), count: 1, exchange: EXCHANGES.work, "routing-keys": [PROVIDER], time: { "!": "timestamp", value: Math.floor(Date.now() / 1000) } }],
  });

  it("a broker dead letter (delivery limit) is stored once and fails the resource still waiting on it", async () => {
    const eventId = `evt_${newUlid()}`;
    await seedResource("crashy", "processing", eventId);
    const w = workFor("crashy", eventId);
    await deadLetter(w, brokerDeath("delivery_limit"));
    await deadLetter(w, brokerDeath("delivery_limit")); // at-least-once dead-lettering duplicates

    await waitFor(async () => (await resource("crashy")).lifecycle_state === "failed" || undefined, { timeoutMs: 10_000, message: "resource not failed" });
    const r = await resource("crashy");
    expect(r.pending_event_id).toBeNull();
    expect(r.error).toMatch(/delivery limit reached/);
    await waitFor(() => changed.includes(`resource:${PROVIDER}_thing_crashy`) || undefined, { timeoutMs: 5_000, message: "no change notification for the failed resource" });
    await new Promise((ok) => setTimeout(ok, 300));
    const rows = (await entries()).filter((e) => e.event_id === eventId);
    expect(rows).toHaveLength(1);

    const entry = await bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.get, { scope, event_id: eventId });
    expect(entry).toMatchObject({ reason: "delivery_limit", provider: PROVIDER, resource_type: "thing", resource_name: "crashy", event_type: "CREATE", correlation_id: "req_original" });
    expect(entry.attempt_count).toBeGreaterThanOrEqual(1);
    expect(entry.attempts[entry.attempts.length - 1]!.error).toMatch(/delivery limit/);
  });

  it("maps the worker's markers: retries_exhausted is `rejected` with retries + 1 attempts; error text is redacted", async () => {
    const eventId = `evt_${newUlid()}`;
    await seedResource("flaky", "failed", null);
    await deadLetter(workFor("flaky", eventId, { dsn: "mysql://root:dsn-marker-1@db/x", password: "pw-marker-2", plain: "visible" }), {
      "x-retry-count": 3,
      "x-permanent-error": false,
      "x-dead-letter-reason": "retries_exhausted",
      "x-error-message": "connect failed for postgres://app:url-marker-3@db:5432/app (password=kv-marker-4)",
    });
    const entry = await waitFor(() => bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.get, { scope, event_id: eventId }), { timeoutMs: 10_000 });
    expect(entry.reason).toBe("rejected");
    expect(entry.attempt_count).toBe(4);
    expect(entry.payload.config).toEqual({ dsn: "[REDACTED]", password: "[REDACTED]", plain: "visible" });
    expect(entry.error_message).toBe("connect failed for postgres://app:[REDACTED]@db:5432/app (password=[REDACTED])");
    expect(JSON.stringify(entry)).not.toMatch(/marker/);
    // Not waiting on this event: a late dead letter never overrides the resource.
    expect((await resource("flaky")).lifecycle_state).toBe("failed");
  });

  it("redacts the type's declared sensitive fields and takes per-attempt history from the dead letter's x-attempt-history", async () => {
    const eventId = `evt_${newUlid()}`;
    await seedResource("declared", "failed", null);
    const history = {
      runs: 3,
      retries: 2,
      crashed: 1,
      lease_waits: 4,
      attempts: [
        { attempt: 1, at: "2026-01-01T00:00:01.000Z", outcome: "retried", error: "timeout talking to declared-marker-1" },
        { attempt: 2, at: "2026-01-01T00:00:03.000Z", outcome: "crashed", error: "the worker stopped before the hook finished (killed, or lost its connections)" },
        { attempt: 3, at: "2026-01-01T00:00:04.000Z", outcome: "failed", error: "still failing" },
      ],
    };
    const w = { ...workFor("declared", eventId, { value: "declared-marker-1", size: 3 }), outputs: { handle: "declared-marker-2", host: "h" } };
    await deadLetter(w, { "x-retry-count": 2, "x-permanent-error": false, "x-dead-letter-reason": "retries_exhausted", "x-error-message": "still failing", "x-attempt-history": JSON.stringify(history) });
    const entry = await waitFor(() => bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.get, { scope, event_id: eventId }), { timeoutMs: 10_000 });
    expect(entry.payload.config).toEqual({ value: "[REDACTED]", size: 3 });
    expect(entry.payload.outputs).toEqual({ handle: "[REDACTED]", host: "h" });
    expect(entry.attempt_count).toBe(3);
    expect(entry.attempts).toEqual([
      // The store scrubs the worker's history once more: the sensitive value is redacted.
      { at: "2026-01-01T00:00:01.000Z", error: "timeout talking to [REDACTED]" },
      { at: "2026-01-01T00:00:03.000Z", error: expect.stringMatching(/stopped before the hook finished/) },
      { at: "2026-01-01T00:00:04.000Z", error: "still failing" },
    ]);
    expect(JSON.stringify(entry)).not.toMatch(/marker/);
  });

  it("a broker dead letter of a copy that carries a history: the history, then the broker's final failure", async () => {
    const eventId = `evt_${newUlid()}`;
    await seedResource("killed", "failed", null);
    const history = { runs: 1, retries: 1, crashed: 0, lease_waits: 0, attempts: [{ attempt: 1, at: "2026-01-01T00:00:01.000Z", outcome: "retried", error: "transient" }] };
    await deadLetter(workFor("killed", eventId), { ...brokerDeath("delivery_limit"), "x-retry-count": 1, "x-attempt-history": JSON.stringify(history) });
    const entry = await waitFor(() => bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.get, { scope, event_id: eventId }), { timeoutMs: 10_000 });
    expect(entry.reason).toBe("delivery_limit");
    // The retried run, and the copy the broker gave up on (what ran in it the worker could not say).
    expect(entry.attempt_count).toBe(2);
    expect(entry.attempts).toEqual([
      { at: "2026-01-01T00:00:01.000Z", error: "transient" },
      { at: expect.any(String), error: expect.stringMatching(/^delivery limit reached in /) },
    ]);
    // Not one of the entries the retry-all test below counts.
    await bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.delete, { scope, event_id: eventId });
  });

  it("a permanent-error marker is `permanent_error`", async () => {
    const eventId = `evt_${newUlid()}`;
    await seedResource("broken", "failed", null);
    await deadLetter(workFor("broken", eventId), { "x-retry-count": 0, "x-permanent-error": true, "x-dead-letter-reason": "permanent_error", "x-error-message": "invalid config" });
    const entry = await waitFor(() => bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.get, { scope, event_id: eventId }), { timeoutMs: 10_000 });
    expect(entry).toMatchObject({ reason: "permanent_error", attempt_count: 1, error_message: "invalid config" });
  });

  it("concurrent retries of one entry queue exactly one event, with a fresh id and no retry headers, from the current config", async () => {
    const eventId = `evt_${newUlid()}`;
    await seedResource("racy", "processing", eventId, { size: 1 });
    await deadLetter(workFor("racy", eventId, { size: 1 }), brokerDeath("delivery_limit"));
    await waitFor(async () => (await resource("racy")).lifecycle_state === "failed" || undefined, { timeoutMs: 10_000 });
    // An operator fixed the config since the failure: the retry must carry it.
    await db.query(`UPDATE resource_store.resources SET config = '{"size": 2}' WHERE resource_id = $1`, [`resource:${PROVIDER}_thing_racy`]);

    const notifiedBefore = changed.filter((id) => id === `resource:${PROVIDER}_thing_racy`).length;
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, () => bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.retry, { scope, event_id: eventId })));
    const ok = outcomes.filter((o) => o.status === "fulfilled");
    const failed = outcomes.filter((o): o is PromiseRejectedResult => o.status === "rejected");
    expect(ok).toHaveLength(1);
    expect(failed.every((f) => f.reason instanceof AppError && f.reason.code === "NOT_FOUND")).toBe(true);
    const queued = (ok[0] as PromiseFulfilledResult<any>).value;
    expect(queued).toMatchObject({ status: "pending", event_type: "CREATE", published_at: null });
    expect(queued.payload.config).toEqual({ size: 2 });

    const r = await resource("racy");
    expect(r).toMatchObject({ lifecycle_state: "pending", pending_event_id: queued.event_id, error: null });
    await waitFor(() => changed.filter((id) => id === `resource:${PROVIDER}_thing_racy`).length > notifiedBefore || undefined, {
      timeoutMs: 5_000,
      message: "no change notification for the re-queued resource",
    });
    const events = (await db.query(`SELECT event_id FROM resource_store.outbox_events WHERE resource_id = $1`, [`resource:${PROVIDER}_thing_racy`])).rows;
    expect(events.map((e) => e.event_id)).toEqual([queued.event_id]);

    const published = await waitFor(() => work.find((m) => m.payload.event_id === queued.event_id), { timeoutMs: 10_000, message: "re-queued event not published" });
    expect(published.payload.config).toEqual({ size: 2 });
    expect(published.headers["x-retry-count"]).toBeUndefined();
    expect(published.headers["x-death"]).toBeUndefined();
    expect((await entries()).find((e) => e.event_id === eventId)).toBeUndefined();
  });

  it("a retry that cannot run (resource busy or gone) is 409 and keeps the entry; retry-all skips it", async () => {
    const busyEvent = `evt_${newUlid()}`;
    await seedResource("busy", "processing", "evt_someone_else");
    await deadLetter(workFor("busy", busyEvent), brokerDeath("rejected"));
    const goneEvent = `evt_${newUlid()}`;
    await deadLetter(workFor("gone", goneEvent), brokerDeath("rejected"));
    await waitFor(async () => (await entries()).filter((e) => e.event_id === busyEvent || e.event_id === goneEvent).length === 2 || undefined, { timeoutMs: 10_000 });

    for (const id of [busyEvent, goneEvent]) {
      await expect(bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.retry, { scope, event_id: id })).rejects.toMatchObject({ code: "CONFLICT" });
    }
    const all = await bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.retryAll, { scope, provider: PROVIDER });
    // crashy, flaky, declared and broken are failed and retryable; busy and gone are skipped.
    expect(all.retried_count).toBe(4);
    const left = (await entries()).map((e) => e.event_id).sort();
    expect(left).toEqual([busyEvent, goneEvent].sort());
    expect((await resource("busy")).pending_event_id).toBe("evt_someone_else");
  });

  it("retry-all takes resources side by side, each resource's oldest entry first (its newer one then stays: busy)", async () => {
    const names = ["side-1", "side-2", "side-3", "side-4", "side-5", "side-6"];
    for (const n of names) await seedResource(n, "failed", null);
    const older = names.map(() => `evt_${newUlid()}`);
    const newer = names.map(() => `evt_${newUlid()}`);
    for (const [i, n] of names.entries()) await deadLetter(workFor(n, older[i]!), brokerDeath("rejected"));
    for (const [i, n] of names.entries()) await deadLetter(workFor(n, newer[i]!), brokerDeath("rejected"));
    const ours = new Set([...older, ...newer]);
    await waitFor(async () => (await entries()).filter((e) => ours.has(e.event_id)).length === 12 || undefined, { timeoutMs: 10_000 });

    const all = await bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.retryAll, { scope, provider: PROVIDER });
    expect(all.retried_count).toBe(6);
    const left = (await entries()).map((e) => e.event_id).filter((id) => ours.has(id));
    expect(left.sort()).toEqual([...newer].sort());
    for (const n of names) expect((await resource(n)).lifecycle_state).toBe("pending");
  });

  it("retry-all re-queues a resource once when two of its entries share a transaction (the older goes, the newer stays)", async () => {
    // Alone in the store, the two entries make one chunk of 2.
    await bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.deleteMany, { scope, all: true });
    await seedResource("twice", "failed", null);
    const [first, second] = [`evt_${newUlid()}`, `evt_${newUlid()}`];
    await deadLetter(workFor("twice", first), brokerDeath("rejected"));
    await deadLetter(workFor("twice", second), brokerDeath("rejected"));
    await waitFor(async () => (await entries()).filter((e) => e.event_id === first || e.event_id === second).length === 2 || undefined, { timeoutMs: 10_000 });
    const queuedBefore = work.length;

    const all = await bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.retryAll, { scope, provider: PROVIDER });
    expect(all.retried_count).toBe(1);
    const left = (await entries()).map((e) => e.event_id);
    expect(left).toContain(second);
    expect(left).not.toContain(first);
    const r = await resource("twice");
    expect(r.lifecycle_state).toBe("pending");
    const queued = await waitFor(async () => work.slice(queuedBefore).find((w) => w.payload.resource_name === "twice"), { message: "the re-queued event" });
    expect(queued.payload.event_id).toBe(r.pending_event_id);
    await new Promise((res) => setTimeout(res, 300));
    expect(work.slice(queuedBefore).filter((w) => w.payload.resource_name === "twice")).toHaveLength(1);
  });

  it("drops what it cannot attribute to a tenant and resource, and keeps draining", async () => {
    await bus.publish(resourceWork, workFor("orphan", `evt_${newUlid()}`), { exchange: EXCHANGES.deadLetter, routingKey: PROVIDER, headers: {} }).catch(() => undefined);
    const later = `evt_${newUlid()}`;
    await seedResource("after-orphan", "failed", null);
    await deadLetter(workFor("after-orphan", later), brokerDeath("expired"));
    const entry = await waitFor(() => bus.request(RPC_QUEUES.resourceStore, deadLetterRequests.get, { scope, event_id: later }), { timeoutMs: 10_000 });
    expect(entry.reason).toBe("expired");
  });
});
