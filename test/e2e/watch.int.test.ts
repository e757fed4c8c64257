import { call, startSystem, type RunningSystem } from "./system";
import { createOrg, rid, type Org } from "./tenant";
import { apiClient, watch, type Watcher } from "./watch-stream";
import type { WatchEvent } from "@pragma/cli";

/**
 * GET /resources/watch (api.md §8) through the gateway on the real services: changes
 * arrive live, filtered like the list and scoped to the tenant, and a stream resumed with
 * Last-Event-ID on another gateway replica, or after a restart, misses nothing.
 */
describe("GET /resources/watch", () => {
  let sys: RunningSystem;
  let org: Org;
  const watchers: Watcher[] = [];
  const open = (w: Watcher) => (watchers.push(w), w);
  const client = (baseUrl = sys.baseUrl, o = org) => apiClient(baseUrl, o.token, o.projectId, o.spaceId);
  const changed = (id: string, state?: string) => (e: WatchEvent) =>
    e.type === "changed" && e.resource.id === id && (state === undefined || e.resource.lifecycle_state === state);
  const synced = (w: Watcher) => w.until((e) => e.type === "sync", "the stream never sent its position");

  beforeAll(async () => {
    sys = await startSystem("watch", { WATCH_HEARTBEAT_MS: "200", WATCH_MAX_STREAMS_PER_ORG: "4" });
    org = await createOrg(sys.baseUrl);
  });
  afterEach(async () => {
    await Promise.all(watchers.splice(0).map((w) => w.stop()));
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it("sends each change of a resource in scope as it commits, through to ready, as GET shows it", async () => {
    const w = open(watch(client()));
    await synced(w);
    const other = await createOrg(sys.baseUrl);
    const foreign = open(watch(client(sys.baseUrl, other)));
    await synced(foreign);

    const applied = await org.client().apply({ provider: "pragma", resource: "config", name: "live", config: { region: "eu" }, lifecycle_state: "pending" });
    expect(applied.status).toBe(200);
    const id = rid({ provider: "pragma", resource: "config", name: "live" });
    const ready = await w.until(changed(id, "ready"), "the ready state never arrived on the stream");
    expect(ready.type === "changed" && ready.resource.outputs).toEqual({ region: "eu" });
    const get = await org.client().get(id);
    expect(ready.type === "changed" && ready.resource).toEqual(get.body);

    // Every state the stream showed is one the lifecycle goes through, in its order.
    const states = w.events.filter(changed(id)).map((e) => (e.type === "changed" ? e.resource.lifecycle_state : ""));
    const order = ["pending", "processing", "ready"];
    expect(states.map((s) => order.indexOf(s!))).toEqual([...states.map((s) => order.indexOf(s!))].sort());
    expect(states.every((s) => order.includes(s!))).toBe(true);

    // The other tenant's stream saw nothing of it.
    expect(foreign.events.filter((e) => e.type !== "sync")).toEqual([]);

    const deleted = await org.client().del(id);
    expect(deleted.status).toBe(200);
    await w.until((e) => e.type === "deleted" && e.resource.id === id, "the deletion never arrived");
    const gone = w.events.find((e) => e.type === "deleted");
    expect(gone?.type === "deleted" && gone.resource).toEqual({ id, provider: "pragma", resource: "config", name: "live" });
  });

  it("filters by provider, type and tags like the list", async () => {
    const secrets = open(watch(client(), { query: { provider: "pragma", resource: "secret" } }));
    const tagged = open(watch(client(), { query: { tags: ["team-a"] } }));
    await Promise.all([synced(secrets), synced(tagged)]);
    const c = org.client();
    await c.apply({ provider: "pragma", resource: "config", name: "f-config", config: { a: "1" }, tags: ["team-a"], lifecycle_state: "pending" });
    await c.apply({ provider: "pragma", resource: "secret", name: "f-secret", config: { value: "v" }, tags: ["team-b"], lifecycle_state: "pending" });
    await secrets.until(changed(rid({ provider: "pragma", resource: "secret", name: "f-secret" }), "ready"), "the secret never reached the secrets stream");
    await tagged.until(changed(rid({ provider: "pragma", resource: "config", name: "f-config" }), "ready"), "the tagged config never reached the tags stream");
    await c.waitFor(rid({ provider: "pragma", resource: "secret", name: "f-secret" }), "ready");
    const ids = (w: Watcher) => new Set(w.events.flatMap((e) => (e.type === "changed" ? [e.resource.id] : [])));
    expect([...ids(secrets)]).toEqual([rid({ provider: "pragma", resource: "secret", name: "f-secret" })]);
    expect([...ids(tagged)]).toEqual([rid({ provider: "pragma", resource: "config", name: "f-config" })]);
  });

  it("resumes with Last-Event-ID on another gateway replica and after a gateway restart, missing nothing", async () => {
    const first = open(watch(client()));
    await synced(first);
    const c = org.client();
    const a = rid({ provider: "pragma", resource: "config", name: "resume-a" });
    await c.apply({ provider: "pragma", resource: "config", name: "resume-a", config: { n: "1" }, lifecycle_state: "pending" });
    await first.until(changed(a, "ready"), "resume-a never became ready on the first stream");
    const position = first.lastId()!;
    await first.stop();

    // While nobody watches: one created, one changed to draft, one deleted.
    const b = rid({ provider: "pragma", resource: "config", name: "resume-b" });
    await c.apply({ provider: "pragma", resource: "config", name: "resume-b", config: { n: "2" }, lifecycle_state: "pending" });
    await c.waitFor(b, "ready");
    expect((await c.del(a)).status).toBe(200);
    await c.waitFor(a, "gone");

    const replica = await sys.addGateway();
    const second = open(watch(client(replica.baseUrl), { lastEventId: position }));
    await second.until(changed(b, "ready"), "the replica's stream missed resume-b");
    await second.until((e) => e.type === "deleted" && e.resource.id === a, "the replica's stream missed the deletion of resume-a");
    expect(second.events.some((e) => e.type === "sync" || e.type === "reset")).toBe(false);
    const position2 = second.lastId()!;
    await second.stop();

    // The replica is gone for good; a change happens; a new gateway resumes the stream.
    await replica.stop();
    const cc = rid({ provider: "pragma", resource: "config", name: "resume-c" });
    await c.apply({ provider: "pragma", resource: "config", name: "resume-c", config: { n: "3" }, lifecycle_state: "pending" });
    await c.waitFor(cc, "ready");
    const restarted = await sys.addGateway();
    const third = open(watch(client(restarted.baseUrl), { lastEventId: position2 }));
    await third.until(changed(cc, "ready"), "the stream resumed after the restart missed resume-c");
    expect(third.events.some((e) => e.type === "changed" && e.resource.id === a)).toBe(false);
  });

  it("sends heartbeat comments on an idle stream and refuses a bad Last-Event-ID with 422", async () => {
    const ctl = new AbortController();
    const res = await fetch(`${sys.baseUrl}/resources/watch`, {
      headers: { authorization: `Bearer ${org.token}`, "x-project-id": org.projectId, "x-space-id": org.spaceId },
      signal: ctl.signal,
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
    let text = "";
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      if (text.includes(": heartbeat")) break;
    }
    ctl.abort();
    expect(text).toMatch(/^id: \d+\nevent: sync\n/);
    expect(text).toContain(": heartbeat\n\n");

    const bad = await call(sys.baseUrl, "GET", "/resources/watch", {
      headers: { authorization: `Bearer ${org.token}`, "x-project-id": org.projectId, "x-space-id": org.spaceId, "last-event-id": "yesterday" },
    });
    expect(bad.status).toBe(422);
    expect(JSON.stringify(bad.body.detail)).toContain("Last-Event-ID");
  });

  it("answers event: reset to a position that is not one of this store's", async () => {
    const w = open(watch(client(), { lastEventId: "99999999999999" }));
    const reset = await w.until((e) => e.type === "reset", "no reset for a position from the future");
    expect(reset.id).toMatch(/^\d+$/);
    // From the reset on the stream is live again.
    await org.client().apply({ provider: "pragma", resource: "config", name: "after-reset", config: {}, lifecycle_state: "pending" });
    await w.until(changed(rid({ provider: "pragma", resource: "config", name: "after-reset" }), "ready"), "no changes after the reset");
  });

  it("caps the open streams per org with 429 and frees a slot when a stream closes", async () => {
    const capped = await createOrg(sys.baseUrl);
    const streams = [1, 2, 3, 4].map(() => open(watch(client(sys.baseUrl, capped))));
    await Promise.all(streams.map(synced));
    const refused = await call(sys.baseUrl, "GET", "/resources/watch", {
      headers: { authorization: `Bearer ${capped.token}`, "x-project-id": capped.projectId, "x-space-id": capped.spaceId },
    });
    expect(refused.status).toBe(429);
    expect(refused.body.detail).toMatch(/Too many watch streams/);
    await streams[0]!.stop();
    const again = open(watch(client(sys.baseUrl, capped), { maxReconnects: 20 }));
    await synced(again);
  });
});
