import { randomBytes } from "node:crypto";
import { Client } from "pg";
import { AesGcmCipher, PURPOSES, ValueSealer } from "@pragma/crypto";
import { EXCHANGES, resourceWork, type TenantScope } from "@pragma/contracts";
import { newUlid } from "@pragma/ids";
import { connectBroker } from "@pragma/messaging";
import { closeConnections, managementUrl, splitCredentials, amqpUrl as brokerUrl, waitFor, waitForConnections } from "@pragma/testing";
import { WorkerTypeCatalog } from "../src/amqp/worker-type-catalog";
import { startSystem, type RunningSystem } from "../../../test/e2e/system";
import { tapBus, type BusTap } from "../../../test/e2e/bus-tap";
import { createPool, type Pool } from "../src/data/pg";
import { PgResourceRepository } from "../src/data/resource.repository";
import { OutboxRepository } from "../src/data/outbox.repository";
import { OutboxPruner } from "../src/outbox/outbox-pruner";
import { createLogger } from "@pragma/logger";
import { applyResource, type ApplyDeps } from "../src/domain/resources/apply-resource";
import { getResource } from "../src/domain/resources/get-resource";
import { recordResults, type WorkerResult } from "../src/domain/resources/record-result";
import type { TypeCatalog } from "../src/domain/resources/ports";

/**
 * The store's transactional outbox across a broker outage (with the real worker behind
 * it), and the row-level-security backstop, checked with SQL that forgets its WHERE.
 */
let sys: RunningSystem;
let tap: BusTap;
let pool: Pool;
let db: Client;
let deps: ApplyDeps;

// The catalogue as the workers list it, read once while the broker is up and kept: while
// the broker is away nobody can be asked for it.
let catalog: TypeCatalog;

beforeAll(async () => {
  // The worker reports "started" for every run, so a hook that ran twice would show.
  sys = await startSystem("store-outbox", { OUTBOX_POLL_MS: "100", STARTED_REPORT_DELAY_MS: "0" });
  tap = await tapBus(sys.env.amqpUrl);
  const silent = createLogger({ service: "test", level: "silent" });
  const asker = await connectBroker({ url: sys.env.amqpUrl, logger: silent, connectionName: "test-catalog" });
  const workers = new WorkerTypeCatalog(asker, { ttlMs: Number.POSITIVE_INFINITY, timeoutMs: 10_000, logger: silent });
  const types = await workers.list();
  await asker.close();
  catalog = { list: async () => types };
  pool = createPool(sys.env.databaseUrl, "resource_store", 4);
  deps = {
    repo: new PgResourceRepository(pool),
    clock: { now: () => new Date() },
    types: catalog,
    sealer: new ValueSealer(new AesGcmCipher(new Map([["t", randomBytes(32)]]), "t", PURPOSES.resourceValue)),
  };
  db = new Client({ connectionString: sys.env.databaseUrl });
  await db.connect();
});
afterAll(async () => {
  await db?.end();
  await pool?.end();
  await tap?.close();
  await sys?.stop();
});

async function setPermissions(vhost: string, allow: boolean): Promise<void> {
  const { base, authorization } = splitCredentials(managementUrl());
  const user = splitCredentials(brokerUrl()).username ?? "guest";
  const res = await fetch(`${base}/api/permissions/${encodeURIComponent(vhost)}/${encodeURIComponent(user)}`, {
    method: allow ? "PUT" : "DELETE",
    headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
    ...(allow ? { body: JSON.stringify({ configure: ".*", write: ".*", read: ".*" }) } : {}),
  });
  if (!res.ok) throw new Error(`permissions ${allow ? "grant" : "revoke"}: ${res.status}`);
}

const scopeOf = (): TenantScope => ({ org_id: newUlid(), project_id: `prj_${newUlid()}`, space_id: `spc_${newUlid()}` });

/** A one-connection repository that records every round trip it sends. */
async function recordingRepo() {
  const one = createPool(sys.env.databaseUrl, "resource_store", 1);
  const client = await one.connect();
  const sent: string[] = [];
  const query = client.query.bind(client);
  (client as unknown as { query: unknown }).query = (q: unknown, ...rest: unknown[]) => {
    sent.push(typeof q === "string" ? q : (q as { text: string }).text);
    return (query as (...a: unknown[]) => unknown)(q, ...rest);
  };
  client.release();
  return { one, sent, deps: { ...deps, repo: new PgResourceRepository(one) } };
}

describe("outbox", () => {
  it("applies succeed while the broker is unreachable; every event is published once it is back, none lost, a duplicate is dropped", async () => {
    const scope = scopeOf();
    await waitForConnections(sys.env.vhost, 4);
    // Revoke first so that reconnects are refused, then cut every connection of the vhost.
    await setPermissions(sys.env.vhost, false);
    let restored = false;
    try {
      expect(await closeConnections(sys.env.vhost)).toBeGreaterThan(0);
      const names = Array.from({ length: 20 }, (_, i) => `offline-${String(i).padStart(2, "0")}`);
      const applied = [];
      for (const name of names) {
        applied.push(await applyResource(deps, scope, { provider: "pragma", resource: "config", name, config: { i: name }, lifecycle_state: "pending" }));
      }
      expect(applied.every((r) => r.lifecycleState === "pending" && r.pendingEventId)).toBe(true);
      // Committed, not published: the relay keeps failing and retrying in the background.
      await new Promise((r) => setTimeout(r, 500));
      const waiting = await db.query(`SELECT count(*)::int AS n FROM resource_store.outbox_events WHERE org_id = $1 AND status = 'pending'`, [scope.org_id]);
      expect(waiting.rows[0].n).toBe(20);

      await setPermissions(sys.env.vhost, true);
      restored = true;
      for (const r of applied) {
        await waitFor(async () => (await getResource(deps, scope, r.resourceId)).lifecycleState === "ready", { timeoutMs: 40_000, intervalMs: 100, message: `${r.resourceId} ready` });
      }
      const published = await db.query(`SELECT count(*)::int AS n FROM resource_store.outbox_events WHERE org_id = $1 AND status = 'published'`, [scope.org_id]);
      expect(published.rows[0].n).toBe(20);
      await waitFor(async () => applied.every((r) => tap.eventsFor(r.resourceId).length === 1), { timeoutMs: 10_000, message: "one event per resource on the tap" });
      expect(applied.map((r) => tap.eventsFor(r.resourceId).map((e) => e.event_id))).toEqual(applied.map((r) => [r.pendingEventId]));

      // The relay can publish an event twice (crash between publish and mark). The worker
      // dedupes by event id: the hook does not run again (no second "started"), it only
      // replays its recorded result, which the store drops as stale.
      const first = tap.eventsFor(applied[0]!.resourceId)[0]!;
      const before = await getResource(deps, scope, first.resource_id);
      await tap.broker.publish(resourceWork, first, { exchange: EXCHANGES.work, routingKey: "pragma", messageId: first.event_id });
      const ofFirst = (type: string) => tap.results.filter((x) => x.event_id === first.event_id && x.type === type).length;
      await waitFor(async () => ofFirst("provider.event.succeeded.v1") === 2, { message: "the worker replayed its result" });
      await new Promise((r) => setTimeout(r, 500));
      expect(ofFirst("provider.event.started.v1")).toBe(1);
      const after = await getResource(deps, scope, first.resource_id);
      expect(after.updatedAt).toEqual(before.updatedAt);
      expect(tap.eventsFor(first.resource_id)).toHaveLength(2);
    } finally {
      if (!restored) await setPermissions(sys.env.vhost, true);
    }
  });
});

describe("tenant backstop (row-level security)", () => {
  const a = scopeOf();
  const b = scopeOf();
  beforeAll(async () => {
    for (const [scope, name] of [[a, "a1"], [a, "a2"], [b, "b1"]] as const) {
      await applyResource(deps, scope, { provider: "pragma", resource: "config", name, config: {} });
    }
  });

  async function asTenant<T>(scope: TenantScope | null, fn: () => Promise<T>): Promise<T> {
    await db.query("BEGIN");
    try {
      await db.query("SET LOCAL ROLE pragma_store_tenant");
      if (scope) await db.query("SELECT set_config('pragma.org_id', $1, true), set_config('pragma.project_id', $2, true), set_config('pragma.space_id', $3, true)", [scope.org_id, scope.project_id, scope.space_id]);
      return await fn();
    } finally {
      await db.query("ROLLBACK");
    }
  }

  it("a query without a scope reads nothing, and writes nothing", async () => {
    const rows = await asTenant(null, async () => (await db.query("SELECT resource_id FROM resource_store.resources")).rows);
    expect(rows).toEqual([]);
    const events = await asTenant(null, async () => (await db.query("SELECT event_id FROM resource_store.outbox_events")).rows);
    expect(events).toEqual([]);
    const updated = await asTenant(null, async () => (await db.query("UPDATE resource_store.resources SET error = 'x'")).rowCount);
    expect(updated).toBe(0);
  });

  it("a scoped query without a WHERE sees only its own tenant's rows and cannot write into another", async () => {
    const rows = await asTenant(a, async () => (await db.query("SELECT resource_id FROM resource_store.resources ORDER BY resource_id")).rows.map((r) => r.resource_id));
    expect(rows).toEqual(["resource:pragma_config_a1", "resource:pragma_config_a2"]);
    const touched = await asTenant(a, async () => (await db.query("DELETE FROM resource_store.resources")).rowCount);
    expect(touched).toBe(2);
    await expect(
      asTenant(a, () =>
        db.query(
          `INSERT INTO resource_store.resources (row_id, org_id, project_id, space_id, resource_id, provider, resource_type, name, config, dependencies, owner_references, outputs, lifecycle_state, provisioned, tags, has_tags, created_at, updated_at)
           VALUES ('res_x', $1, $2, $3, 'resource:pragma_config_sneaky', 'pragma', 'config', 'sneaky', '{}', '[]', '[]', '{}', 'draft', false, '{}', false, now(), now())`,
          [b.org_id, b.project_id, b.space_id],
        ),
      ),
    ).rejects.toThrow(/row-level security/);
    // The rollbacks above left everything in place.
    expect((await db.query("SELECT count(*)::int AS n FROM resource_store.resources WHERE org_id = ANY($1)", [[a.org_id, b.org_id]])).rows[0].n).toBe(3);
  });

  it("the relay's role cannot read resources at all, and the repository answers 404 across tenants", async () => {
    await db.query("BEGIN");
    try {
      await db.query("SET LOCAL ROLE pragma_store_relay");
      await expect(db.query("SELECT 1 FROM resource_store.resources")).rejects.toThrow(/permission denied/);
    } finally {
      await db.query("ROLLBACK");
    }
    await expect(getResource(deps, b, "resource:pragma_config_a1")).rejects.toMatchObject({ code: "NOT_FOUND" });
    await expect(getResource(deps, a, "resource:pragma_config_a1")).resolves.toMatchObject({ name: "a1" });
  });

  it("the observation sweeper's role sees ready resources only, and writes nothing", async () => {
    await db.query("BEGIN");
    try {
      // a1 made ready (as the owner, rolled back below); a2 and b1 stay drafts.
      await db.query("UPDATE resource_store.resources SET lifecycle_state = 'ready', provisioned = true WHERE org_id = $1 AND name = 'a1'", [a.org_id]);
      await db.query("SET LOCAL ROLE pragma_store_sweeper");
      const seen = await db.query<{ resource_id: string }>("SELECT resource_id FROM resource_store.resources WHERE org_id = ANY($1)", [[a.org_id, b.org_id]]);
      expect(seen.rows.map((r) => r.resource_id)).toEqual(["resource:pragma_config_a1"]);
      await db.query("SAVEPOINT s");
      await expect(db.query("UPDATE resource_store.resources SET name = name")).rejects.toThrow(/permission denied/);
      await db.query("ROLLBACK TO SAVEPOINT s");
      await expect(db.query("DELETE FROM resource_store.resource_observations")).rejects.toThrow(/permission denied/);
    } finally {
      await db.query("ROLLBACK");
    }
  });
});

describe("results recorded in batches", () => {
  it("one transaction per tenant, arrival order, a started skipped when its event finished in the batch, stale results inert", async () => {
    const a = scopeOf();
    const b = scopeOf();
    // Every event here waits on a draft "gate", so it stays held and the running worker
    // never sees it: the results below are the only ones these resources get.
    for (const scope of [a, b]) await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "gate", config: {} });
    const pending = async (scope: TenantScope, name: string, extra: Record<string, unknown> = { depends_on: ["pragma/config/gate"] }) =>
      applyResource(deps, scope, { provider: "pragma", resource: "config", name, config: { n: name }, lifecycle_state: "pending", ...extra });
    const a1 = await pending(a, "a1");
    const a2 = await pending(a, "a2");
    // a3 depends on a1: held until a1 is ready, released by a1's success in this batch.
    const a3 = await pending(a, "a3", { depends_on: ["pragma/config/a1"] });
    const b1 = await pending(b, "b1");
    const ev = (r: { pendingEventId: string | null }) => r.pendingEventId!;
    const held = await db.query("SELECT count(*)::int AS n FROM resource_store.outbox_events WHERE event_id = ANY($1) AND status = 'held'", [[a1, a2, a3, b1].map(ev)]);
    expect(held.rows[0].n).toBe(4);

    let kicked = 0;
    const results: WorkerResult[] = [
      { kind: "started", eventId: ev(a1), resourceId: a1.resourceId, scope: a },
      { kind: "started", eventId: ev(a2), resourceId: a2.resourceId, scope: a },
      { kind: "started", eventId: ev(b1), resourceId: b1.resourceId, scope: b },
      { kind: "succeeded", eventId: ev(a1), resourceId: a1.resourceId, scope: a, eventType: "CREATE", outputs: { n: "a1" } },
      { kind: "failed", eventId: ev(b1), resourceId: b1.resourceId, scope: b, error: "boom" },
      { kind: "succeeded", eventId: "evt_01XXXXXXXXXXXXXXXXXXXXXXXX", resourceId: a2.resourceId, scope: a, eventType: "CREATE", outputs: {} },
    ];
    const out = await recordResults({ ...deps, onEventWritten: () => kicked++ }, results);
    expect(out.map((o) => (o.status === "fulfilled" ? o.value : "rejected"))).toEqual(["stale", "applied", "stale", "applied", "applied", "stale"]);
    expect((await getResource(deps, a, a1.resourceId)).lifecycleState).toBe("ready");
    expect((await getResource(deps, a, a2.resourceId)).lifecycleState).toBe("processing");
    expect(await getResource(deps, b, b1.resourceId)).toMatchObject({ lifecycleState: "failed", error: "boom" });
    const released = await db.query("SELECT status, payload FROM resource_store.outbox_events WHERE event_id = $1", [ev(a3)]);
    expect(released.rows[0].status).not.toBe("held");
    expect(kicked).toBe(1);
    // The same batch again changes nothing.
    const again = await recordResults(deps, results);
    expect(again.every((o) => o.status === "fulfilled" && o.value === "stale")).toBe(true);
  });

  it("a result sees what an earlier result of the same batch did to its row (outputs pushed into a running dependent)", async () => {
    const scope = scopeOf();
    // Everything waits on a draft gate, so the running worker never gets these events.
    await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "gate", config: {} });
    const up = await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "s1-up", config: { v: 1 }, lifecycle_state: "pending", depends_on: ["pragma/config/gate"] });
    await recordResults(deps, [{ kind: "succeeded", eventId: up.pendingEventId!, resourceId: up.resourceId, scope, eventType: "CREATE", outputs: { v: 1 } }]);
    const down = await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "s2-down", config: { v: "${pragma/config/s1-up.outputs.v}" }, lifecycle_state: "pending", depends_on: ["pragma/config/gate"] });
    await recordResults(deps, [{ kind: "started", eventId: down.pendingEventId!, resourceId: down.resourceId, scope }]);
    const up2 = await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "s1-up", config: { v: 2 }, lifecycle_state: "pending", depends_on: ["pragma/config/gate"] });
    expect(up.resourceId < down.resourceId).toBe(true); // up's result is applied first

    // One batch: up's UPDATE changes its outputs while down is still running with the old ones.
    const out = await recordResults(deps, [
      { kind: "succeeded", eventId: up2.pendingEventId!, resourceId: up.resourceId, scope, eventType: "UPDATE", outputs: { v: 2 } },
      { kind: "succeeded", eventId: down.pendingEventId!, resourceId: down.resourceId, scope, eventType: "CREATE", outputs: { v: 1 } },
    ]);
    expect(out.map((o) => (o.status === "fulfilled" ? o.value : "rejected"))).toEqual(["applied", "applied"]);
    expect(await getResource(deps, scope, up.resourceId)).toMatchObject({ lifecycleState: "ready", outputs: { v: 2 } });
    // down had been marked stale by up's result, so its own success queues it again instead of resting on v = 1.
    const after = await getResource(deps, scope, down.resourceId);
    expect(after.lifecycleState).toBe("pending");
    expect(after.pendingEventId).not.toBe(down.pendingEventId);
  });

  it("dependency edges live under the same row-level security as resources", async () => {
    const a = scopeOf();
    const b = scopeOf();
    for (const scope of [a, b]) {
      await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "base", config: {} });
      await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "top", config: {}, depends_on: ["pragma/config/base"] });
    }
    await db.query("BEGIN");
    try {
      await db.query("SET LOCAL ROLE pragma_store_tenant");
      await db.query("SELECT set_config('pragma.org_id', $1, true), set_config('pragma.project_id', $2, true), set_config('pragma.space_id', $3, true)", [a.org_id, a.project_id, a.space_id]);
      const { rows } = await db.query("SELECT org_id, kind, target_id, resource_id FROM resource_store.resource_edges");
      expect(rows).toEqual([{ org_id: a.org_id, kind: "dependency", target_id: "resource:pragma_config_base", resource_id: "resource:pragma_config_top" }]);
    } finally {
      await db.query("ROLLBACK");
    }
  });
});

describe("batched writes (values written in as literals)", () => {
  it("quotes, backslashes, unicode, placeholders and nested JSON come back exactly as applied", async () => {
    const scope = scopeOf();
    const config = { q: "it's \"quoted\"", bs: "C:\\path\\to", uni: "naïve ✓ 日本", ph: "$1 $2::text; DROP TABLE resources; --", nested: { a: [1, 2.5, null, true], e: "" } };
    const tags = ["o'neil", "back\\slash", "$3"];
    await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "odd.values", config, tags, lifecycle_state: "pending" });
    const got = await getResource(deps, scope, "resource:pragma_config_odd.values");
    expect(got.config).toEqual(config);
    expect(got.tags).toEqual(tags);
    const ev = await db.query("SELECT payload FROM resource_store.outbox_events WHERE event_id = $1", [got.pendingEventId]);
    expect(ev.rows[0].payload.config).toEqual(config);
  });
});

describe("single-read transactions (GET, list)", () => {
  it("BEGIN, scope, the read and COMMIT travel as one round trip, leave no scope on the connection, and allow nothing more", async () => {
    const scope = scopeOf();
    await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "one-trip", config: { k: 1 } });
    const { one, sent, deps: rec } = await recordingRepo();
    try {
      const repo = rec.repo;
      const got = await repo.readInScope(scope, (tx) => tx.getResource("resource:pragma_config_one-trip"));
      expect(got).toMatchObject({ name: "one-trip", config: { k: 1 } });
      expect(sent).toHaveLength(1);
      // (The connection is new: its PREPAREs travel in front, in the same round trip.)
      expect(sent[0]).toMatch(/^(PREPARE [^;]*;\n)*BEGIN;\nEXECUTE s_store_act_as_tenant\([^;]*\);\nEXECUTE s_store_get_resource\([^;]*\);\nCOMMIT$/);
      // Another tenant's read on the same connection sees nothing of this one.
      await expect(repo.readInScope(scopeOf(), (tx) => tx.getResource("resource:pragma_config_one-trip"))).resolves.toBeNull();
      const leftover = await one.query("SELECT current_setting('pragma.org_id', true) AS org, now() = statement_timestamp() AS outside_tx");
      expect(leftover.rows[0]).toEqual({ org: "", outside_tx: true });
      // A second statement is a programming error, and it rolls back.
      await expect(
        repo.readInScope(scope, async (tx) => {
          await tx.getResource("resource:pragma_config_one-trip");
          return tx.getResource("resource:pragma_config_one-trip");
        }),
      ).rejects.toThrow("readInScope allows a single read");
    } finally {
      await one.end();
    }
  });
});

describe("grouped reads (readInScope)", () => {
  it("concurrent reads of several tenants share one read-only round trip, each seeing only its own scope; a read that fails fails alone", async () => {
    const [a, b] = [scopeOf(), scopeOf()];
    for (const scope of [a, b]) await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "shared-trip", config: { org: scope.org_id } });
    const { one, sent, deps: rec } = await recordingRepo();
    try {
      const id = "resource:pragma_config_shared-trip";
      const reads = [a, b, a, b, scopeOf()].map((scope) => rec.repo.readInScope(scope, (tx) => tx.getResource(id)));
      const got = await Promise.all(reads);
      expect(got.map((r) => r?.config ?? null)).toEqual([{ org: a.org_id }, { org: b.org_id }, { org: a.org_id }, { org: b.org_id }, null]);
      expect(sent).toHaveLength(1);
      expect(sent[0]!.match(/EXECUTE s_store_get_resource\(/g)).toHaveLength(5);
      expect(sent[0]!.match(/EXECUTE s_store_act_as_tenant\(/g)).toHaveLength(5);
      expect(sent[0]).toMatch(/^(PREPARE [^;]*;\n)*BEGIN;\n[\s\S]*COMMIT$/);
      const leftover = await one.query("SELECT current_setting('pragma.org_id', true) AS org, now() = statement_timestamp() AS outside_tx");
      expect(leftover.rows[0]).toEqual({ org: "", outside_tx: true });

      // A statement that errors aborts the shared transaction: every read is then run alone, and only that one fails.
      sent.length = 0;
      const batcher = (rec.repo as unknown as { reads: { add(p: unknown): Promise<unknown[][]> } }).reads;
      const mixed = await Promise.allSettled([
        rec.repo.readInScope(a, (tx) => tx.getResource(id)),
        batcher.add({ scope: b, statements: [{ name: "test.divide-by-zero", text: "SELECT 1 / 0", values: [] }] }),
        rec.repo.readInScope(b, (tx) => tx.getResource(id)),
      ]);
      expect(mixed.map((m) => m.status)).toEqual(["fulfilled", "rejected", "fulfilled"]);
      expect((mixed[1] as PromiseRejectedResult).reason).toMatchObject({ message: "division by zero" });
      expect((mixed[2] as PromiseFulfilledResult<{ config: unknown }>).value.config).toEqual({ org: b.org_id });
      // The shared round trip and its ROLLBACK; it carried a PREPARE, so the recorded
      // connection was dropped (pg.ts) and the three reads ran alone on a new one.
      expect(sent).toHaveLength(2);
      expect(sent[0]!.match(/EXECUTE s_store_get_resource\(/g)).toHaveLength(2);
      expect(sent[0]).toContain("EXECUTE s_test_divide_by_zero");
      expect(sent[1]).toBe("ROLLBACK");
    } finally {
      await one.end();
    }
  });
});

describe("creating applies (createIfAbsent)", () => {
  const events = async (scope: TenantScope, resourceId: string) =>
    (await db.query("SELECT event_type, status FROM resource_store.outbox_events WHERE org_id = $1 AND resource_id = $2 ORDER BY event_id", [scope.org_id, resourceId])).rows;

  it("a new resource without dependencies is one round trip; an existing one falls back to the locking path and is updated, not duplicated", async () => {
    const scope = scopeOf();
    const { one, sent, deps: rec } = await recordingRepo();
    try {
      const pending = await applyResource(rec, scope, { provider: "pragma", resource: "config", name: "fresh-pending", config: { v: 1 }, lifecycle_state: "pending" });
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatch(/^(PREPARE [^;]*;\n)*BEGIN;\nEXECUTE s_store_act_as_tenant\([^;]*\);\nEXECUTE s_store_create_resource_with_event\([^;]*\);\nCOMMIT$/);
      expect(sent[0]).toContain("ON CONFLICT DO NOTHING");
      expect(await events(scope, pending.resourceId)).toEqual([{ event_type: "CREATE", status: expect.stringMatching(/^(pending|published)$/) }]);

      sent.length = 0;
      const draft = await applyResource(rec, scope, { provider: "pragma", resource: "config", name: "fresh", config: { v: 1 } });
      expect(sent).toHaveLength(1);
      expect(await events(scope, draft.resourceId)).toEqual([]);

      // The same resource again, changed and now pending: the create writes nothing, the locking path updates it.
      sent.length = 0;
      const again = await applyResource(rec, scope, { provider: "pragma", resource: "config", name: "fresh", config: { v: 2 }, lifecycle_state: "pending" });
      expect(sent).toHaveLength(3);
      expect(again).toMatchObject({ rowId: draft.rowId, config: { v: 2 }, lifecycleState: "pending" });
      const rows = await db.query("SELECT row_id, config FROM resource_store.resources WHERE org_id = $1 AND name = 'fresh'", [scope.org_id]);
      expect(rows.rows).toEqual([{ row_id: draft.rowId, config: { v: 2 } }]);
      expect(await events(scope, draft.resourceId)).toEqual([{ event_type: "CREATE", status: expect.stringMatching(/^(pending|published)$/) }]);

      // A state nobody may ask for names the state the resource is in.
      await expect(applyResource(rec, scope, { provider: "pragma", resource: "config", name: "fresh", config: { v: 2 }, lifecycle_state: "ready" as "pending" })).rejects.toMatchObject({
        message: expect.stringMatching(/from (PENDING|PROCESSING|READY) to READY/),
      });
    } finally {
      await one.end();
    }
  });

  it("writes nothing at all when the resource exists, and concurrent first applies of one resource leave one row", async () => {
    const scope = scopeOf();
    const body = { provider: "pragma", resource: "config", name: "raced", config: { v: 1 }, lifecycle_state: "pending" as const };
    const first = await applyResource(deps, scope, body);
    const types = async () => (await events(scope, first.resourceId)).map((e) => e.event_type);
    const before = await types();
    // createIfAbsent itself, handed a resource that exists: undefined, no event written.
    const { one, deps: rec } = await recordingRepo();
    try {
      const fn = jest.fn(async (tx: Parameters<Parameters<typeof rec.repo.createIfAbsent>[1]>[0]) => {
        await tx.insertEvent({ ...first, eventId: `evt_${newUlid()}`, eventType: "CREATE", resourceName: first.name, payload: {}, previousConfig: null, correlationId: null, status: "pending", publishedAt: null } as never);
        await tx.insertResource({ ...first, rowId: `res_${newUlid()}` });
        return "written";
      });
      await expect(rec.repo.createIfAbsent(scope, fn)).resolves.toBeUndefined();
      expect(fn).toHaveBeenCalledTimes(1);
    } finally {
      await one.end();
    }
    expect(await types()).toEqual(before);

    // Drafts, so that no racer finds another's apply still pending (that is a 409, tested elsewhere).
    const racers = await Promise.all(Array.from({ length: 6 }, (_, i) => applyResource(deps, scope, { provider: "pragma", resource: "config", name: "together", config: { i } })));
    const rows = await db.query("SELECT row_id FROM resource_store.resources WHERE org_id = $1 AND name = 'together'", [scope.org_id]);
    expect(rows.rows).toHaveLength(1);
    expect(new Set(racers.map((r) => r.rowId))).toEqual(new Set([rows.rows[0].row_id]));
    expect(await events(scope, racers[0]!.resourceId)).toEqual([]);
  });

  it("concurrent creates of several tenants share one transaction and round trip; a create that fails takes down none of the others", async () => {
    const [a, b] = [scopeOf(), scopeOf()];
    const { one, sent, deps: rec } = await recordingRepo();
    try {
      const bodies = (scope: TenantScope, n: number) =>
        Array.from({ length: n }, (_, i) => ({ scope, body: { provider: "pragma", resource: "config", name: `grouped-${i}`, config: { i }, lifecycle_state: "pending" as const } }));
      const applies = [...bodies(a, 5), ...bodies(b, 5)];
      const created = await Promise.all(applies.map(({ scope, body }) => applyResource(rec, scope, body)));
      // All ten asked in the same tick: one round trip, one transaction, each tenant's scope set once.
      expect(sent).toHaveLength(1);
      expect(sent[0]!.match(/EXECUTE s_store_create_resource_with_event\(/g)).toHaveLength(10);
      expect(sent[0]!.match(/EXECUTE s_store_act_as_tenant\(/g)).toHaveLength(2);
      expect(sent[0]).toMatch(/^(PREPARE [^;]*;\n)*BEGIN;\n[\s\S]*COMMIT$/);
      expect(sent[0]!.match(/\bBEGIN;|\bCOMMIT$/g)).toHaveLength(2);
      for (const [i, r] of created.entries()) {
        expect(r).toMatchObject({ scope: applies[i]!.scope, name: applies[i]!.body.name, lifecycleState: "pending" });
        expect(await events(applies[i]!.scope, r.resourceId)).toEqual([{ event_type: "CREATE", status: expect.stringMatching(/^(pending|published)$/) }]);
      }
      // Each tenant sees its own five and nothing of the other's.
      for (const scope of [a, b]) {
        const seen = await rec.repo.readInScope(scope, (tx) => tx.getResources(created.map((r) => r.resourceId)));
        expect(seen.map((r) => r.scope.org_id)).toEqual(Array(5).fill(scope.org_id));
      }

      // A create whose row is not in its scope breaks row-level security: in a batch, the
      // whole transaction rolls back, then each create runs alone and only that one fails.
      sent.length = 0;
      const write = (scope: TenantScope, name: string, rowScope: TenantScope) =>
        rec.repo.createIfAbsent(scope, async (tx) => {
          const now = new Date();
          await tx.insertResource({
            rowId: `res_${newUlid()}`, scope: rowScope, resourceId: `resource:pragma_config_${name}`, provider: "pragma", resourceType: "config", name,
            config: {}, appliedConfig: null, dependencies: [], ownerReferences: [], outputs: {}, error: null, lifecycleState: "draft",
            pendingEventId: null, provisioned: false, tags: null, staleInputs: false, createdAt: now, updatedAt: now,
          });
          return name;
        });
      const mixed = await Promise.allSettled([write(a, "lead", a), write(a, "good-1", a), write(a, "bad", b), write(b, "good-2", b)]);
      expect(mixed.map((m) => m.status)).toEqual(["fulfilled", "fulfilled", "rejected", "fulfilled"]);
      expect((mixed[2] as PromiseRejectedResult).reason).toMatchObject({ message: expect.stringMatching(/row-level security/) });
      // The batch of four, rolled back. Its round trip carried a PREPARE, so the recorded
      // connection was dropped (pg.ts) and each create ran alone on a new one.
      expect(sent).toHaveLength(2);
      expect(sent[0]!.match(/EXECUTE s_store_create_resource\(/g)).toHaveLength(4);
      expect(sent[1]).toBe("ROLLBACK");
      const names = async (scope: TenantScope) =>
        (await db.query("SELECT name FROM resource_store.resources WHERE org_id = $1 AND name NOT LIKE 'grouped-%' ORDER BY name", [scope.org_id])).rows.map((r) => r.name);
      expect(await names(a)).toEqual(["good-1", "lead"]);
      expect(await names(b)).toEqual(["good-2"]);
      // Alone, the same create fails the same way, and nothing is written.
      await expect(write(a, "bad-alone", b)).rejects.toMatchObject({ message: expect.stringMatching(/row-level security/) });
      expect(await names(b)).toEqual(["good-2"]);
    } finally {
      await one.end();
    }
  });
});

describe("outbox retention", () => {
  it("deletes published events older than the retention, in batches, and never held or recent ones", async () => {
    const scope = scopeOf();
    await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "gate", config: {} });
    const done = [];
    for (const name of ["old-1", "old-2"]) done.push(await applyResource(deps, scope, { provider: "pragma", resource: "config", name, config: { name }, lifecycle_state: "pending" }));
    const held = await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "waiting", config: {}, lifecycle_state: "pending", depends_on: ["pragma/config/gate"] });
    await waitFor(async () => (await Promise.all(done.map((r) => getResource(deps, scope, r.resourceId)))).every((r) => r.lifecycleState === "ready"), { message: "both ready" });
    const statusOf = async (ids: string[]) =>
      Object.fromEntries((await db.query("SELECT event_id, status FROM resource_store.outbox_events WHERE event_id = ANY($1)", [ids])).rows.map((r) => [r.event_id, r.status]));
    const ids = [...done.map((r) => r.pendingEventId!), held.pendingEventId!];
    expect(Object.values(await statusOf(ids)).sort()).toEqual(["held", "published", "published"]);

    const logger = createLogger({ service: "test", level: "silent" });
    const outbox = new OutboxRepository(pool);
    // A retention of an hour keeps events made a moment ago.
    const keepRecent = new OutboxPruner({ outbox, logger, retentionMs: 3_600_000, intervalMs: 60_000 });
    expect(await keepRecent.pruneOnce()).toBe(0);
    expect(Object.keys(await statusOf(ids))).toHaveLength(3);

    // Seen from a clock a minute ahead with a zero retention, they are all old; one row per batch.
    const prune = new OutboxPruner({ outbox, logger, retentionMs: 0, intervalMs: 60_000, batchSize: 1, now: () => Date.now() + 60_000 });
    expect(await prune.pruneOnce()).toBeGreaterThanOrEqual(2);
    expect(await statusOf(ids)).toEqual({ [held.pendingEventId!]: "held" });
    expect(await prune.pruneOnce()).toBe(0);
    // The resources themselves are untouched.
    expect((await getResource(deps, scope, done[0]!.resourceId)).lifecycleState).toBe("ready");

    // Started, it runs on its own every interval (the service starts it with OUTBOX_PRUNE_INTERVAL_MS).
    const later = await applyResource(deps, scope, { provider: "pragma", resource: "config", name: "old-3", config: {}, lifecycle_state: "pending" });
    await waitFor(async () => (await statusOf([later.pendingEventId!]))[later.pendingEventId!] === "published" || undefined, { message: "published" });
    const scheduled = new OutboxPruner({ outbox, logger, retentionMs: 0, intervalMs: 50, now: () => Date.now() + 60_000 });
    scheduled.start();
    try {
      await waitFor(async () => Object.keys(await statusOf([later.pendingEventId!])).length === 0 || undefined, { timeoutMs: 5_000, message: "pruned by the timer" });
    } finally {
      await scheduled.stop();
    }
  });
});
