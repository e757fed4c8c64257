/**
 * Registry events go through a transactional outbox (api.md §3, issue 20 case 9): an
 * event is committed with its change and relayed with publisher confirms, so a broker
 * that refuses it at commit time delays it instead of losing it; a change that rolls
 * back never announces itself; two registry processes relay one outbox without
 * publishing an event twice.
 */
import { Client } from "pg";
import { EXCHANGE_TYPES, EXCHANGES, RPC_QUEUES, registryRequests as r, type Project } from "@pragma/contracts";
import { createLogger } from "@pragma/logger";
import { closeConnections, managementUrl, splitCredentials, waitFor, waitForConnections } from "@pragma/testing";
import { startRegistry, type RegistryHandle } from "../src/service";
import { captureEvents, orgBody, projectBody, startHarness, type CapturedEvent, type Harness } from "./support";

let h: Harness;
let events: { events: CapturedEvent[]; stop(): Promise<void> };
let db: Client;
let orgId: string;
let project: Project;

beforeAll(async () => {
  h = await startHarness("registry-outbox", { OUTBOX_POLL_MS: "100" });
  events = await captureEvents(h.client, "test.registry-outbox.events");
  db = new Client({ connectionString: h.env.databaseUrl });
  await db.connect();
  orgId = (await h.client.request(RPC_QUEUES.registry, r.createOrg, orgBody())).org.org_id;
  project = (await h.client.request(RPC_QUEUES.registry, r.createProject, { org_id: orgId, body: projectBody(), verify: false })).project;
});
afterAll(async () => {
  await db?.end();
  await events?.stop();
  await h?.stop();
});

const updatedTo = (name: string) => (e: CapturedEvent) => e.type === "registry.project.updated.v1" && (e.payload as { project: Project }).project.name === name;
const outboxRows = async () => Number((await db.query<{ n: string }>("SELECT count(*) AS n FROM registry.outbox_events")).rows[0]!.n);

/** The events exchange removed from under the registry: its publishes fail (the broker closes the channel) while RPC still works. */
async function deleteEventsExchange(): Promise<void> {
  const { base, authorization } = splitCredentials(managementUrl());
  const res = await fetch(`${base}/api/exchanges/${encodeURIComponent(h.env.vhost)}/${EXCHANGES.events}`, { method: "DELETE", headers: authorization ? { authorization } : {} });
  if (!res.ok) throw new Error(`delete exchange: ${res.status}`);
}

it("project.updated committed while the broker refuses events is delivered once it accepts them again", async () => {
  await waitFor(async () => events.events.some((e) => e.type === "registry.project.created.v1"), { message: "project.created relayed" });
  await deleteEventsExchange();
  const updated = await h.client.request(RPC_QUEUES.registry, r.updateProject, { org_id: orgId, project_id: project.project_id, body: { name: "Shop while away" }, verify: false });
  expect(updated.name).toBe("Shop while away");

  // Committed and kept: the relay fails, counts the attempt and keeps the row for the next round.
  await waitFor(async () => Number((await db.query<{ n: string }>("SELECT coalesce(max(attempts), 0) AS n FROM registry.outbox_events")).rows[0]!.n) >= 1, {
    message: "the relay tried and failed",
  });
  expect(await outboxRows()).toBe(1);
  expect(events.events.filter(updatedTo("Shop while away"))).toHaveLength(0);

  // The broker comes back: the exchange and the test's binding exist again before any
  // connection is re-made (else the registry, reconnecting first, could publish before the
  // test's queue is bound again, and the event would be routed nowhere), then every
  // connection is re-made and re-declares its topology.
  await h.client.addTopology(async (ch) => {
    await ch.assertExchange(EXCHANGES.events, EXCHANGE_TYPES[EXCHANGES.events], { durable: true });
    await ch.bindQueue("test.registry-outbox.events", EXCHANGES.events, "#");
  });
  await waitForConnections(h.env.vhost, 2);
  expect(await closeConnections(h.env.vhost)).toBeGreaterThan(0);
  const delivered = await waitFor(async () => events.events.find(updatedTo("Shop while away")), { timeoutMs: 60_000, intervalMs: 100, message: "project.updated delivered after the outage" });
  expect(delivered.headers).toMatchObject({ "x-org-id": orgId, "x-project-id": project.project_id, "x-space-id": project.space_id });
  expect(JSON.stringify(delivered.payload)).not.toContain("s3cret-pw");
  await waitFor(async () => (await outboxRows()) === 0, { message: "the published row is gone from the outbox" });
  await new Promise((res) => setTimeout(res, 300));
  expect(events.events.filter(updatedTo("Shop while away"))).toHaveLength(1);
});

it("a change that rolls back publishes nothing", async () => {
  // Fails at COMMIT, after the update and its outbox row were written in the transaction.
  await db.query(`CREATE FUNCTION registry.refuse_name() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$`);
  await db.query(
    `CREATE CONSTRAINT TRIGGER refuse_name AFTER UPDATE ON registry.projects DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.name = 'Rolled back') EXECUTE FUNCTION registry.refuse_name()`,
  );
  try {
    await expect(
      h.client.request(RPC_QUEUES.registry, r.updateProject, { org_id: orgId, project_id: project.project_id, body: { name: "Rolled back" }, verify: false }),
    ).rejects.toMatchObject({ code: "INTERNAL" });
    expect((await h.client.request(RPC_QUEUES.registry, r.getProject, { org_id: orgId, project_id: project.project_id })).name).not.toBe("Rolled back");
    expect(await outboxRows()).toBe(0);

    // A later change is announced; the relay publishes in commit order, so a rolled-back event would have come first.
    await h.client.request(RPC_QUEUES.registry, r.updateProject, { org_id: orgId, project_id: project.project_id, body: { name: "After the rollback" }, verify: false });
    await waitFor(async () => events.events.some(updatedTo("After the rollback")), { message: "the later change is announced" });
    expect(events.events.filter(updatedTo("Rolled back"))).toHaveLength(0);
  } finally {
    await db.query("DROP TRIGGER refuse_name ON registry.projects");
    await db.query("DROP FUNCTION registry.refuse_name()");
  }
});

describe("two registry processes on one outbox", () => {
  let second: RegistryHandle;
  beforeAll(async () => {
    second = await startRegistry(h.config, { logger: createLogger({ service: "registry-2", level: "debug", destination: h.logs.destination }) });
  });
  afterAll(async () => {
    await second?.stop();
  });

  it("relay every event exactly once", async () => {
    // Distinct rows (new orgs), so the commits do not queue on one row lock and the relays race for real.
    const bodies = Array.from({ length: 40 }, () => orgBody());
    // One queue, two consumers: the requests (and their commits, and the relay kicks) split between the processes.
    await Promise.all(bodies.map((body) => h.client.request(RPC_QUEUES.registry, r.createOrg, body, { timeoutMs: 30_000 })));
    const createdFor = (orgId: string) => events.events.filter((e) => e.type === "registry.org.created.v1" && e.headers["x-org-id"] === orgId);
    await waitFor(async () => bodies.every((b) => createdFor(b.org_id).length > 0), { timeoutMs: 20_000, message: "all 40 creates relayed" });
    await waitFor(async () => (await outboxRows()) === 0, { message: "outbox drained" });
    await new Promise((res) => setTimeout(res, 500));
    for (const b of bodies) expect(createdFor(b.org_id)).toHaveLength(1);
    const ids = events.events.map((e) => e.messageId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
