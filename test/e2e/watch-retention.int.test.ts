import { startSystem, type RunningSystem } from "./system";
import { createOrg, rid, type Org } from "./tenant";
import { apiClient, watch, type Watcher } from "./watch-stream";

/**
 * The watch's retention window: the store prunes its change log past
 * WATCH_RETENTION_SECONDS, and a stream resumed from a position older than that is told
 * `event: reset` (list again) instead of silently missing what was pruned.
 */
describe("GET /resources/watch past the retention window", () => {
  let sys: RunningSystem;
  let org: Org;
  const watchers: Watcher[] = [];

  beforeAll(async () => {
    sys = await startSystem("watch-retention", { WATCH_RETENTION_SECONDS: "1", WATCH_PRUNE_INTERVAL_MS: "1000" });
    org = await createOrg(sys.baseUrl);
  });
  afterAll(async () => {
    await Promise.all(watchers.map((w) => w.stop()));
    await sys?.stop();
  });

  it("answers event: reset to a position whose changes were pruned, then streams from the current one", async () => {
    const client = apiClient(sys.baseUrl, org.token, org.projectId, org.spaceId);
    const first = watch(client);
    watchers.push(first);
    await first.until((e) => e.type === "sync", "no position");
    const old = first.lastId()!;
    await first.stop();

    const id = rid({ provider: "pragma", resource: "config", name: "pruned" });
    await org.client().apply({ provider: "pragma", resource: "config", name: "pruned", config: {}, lifecycle_state: "pending" });
    await org.client().waitFor(id, "ready");

    // Resumed from `old`, a stream gets the change while it is kept, and reset once the pruner took it.
    const resumed = await (async () => {
      for (const started = Date.now(); Date.now() - started < 20_000; ) {
        const w = watch(client, { lastEventId: old });
        watchers.push(w);
        const e = await w.until((x) => x.type === "reset" || x.type === "changed", "nothing on the resumed stream");
        if (e.type === "reset") return w;
        await w.stop();
        await new Promise((r) => setTimeout(r, 500));
      }
      throw new Error("the change log was never pruned");
    })();
    const reset = resumed.events.find((e) => e.type === "reset")!;
    expect(BigInt(reset.id!)).toBeGreaterThan(BigInt(old));
    expect(resumed.events.filter((e) => e.type === "changed")).toEqual([]);

    await org.client().apply({ provider: "pragma", resource: "config", name: "after", config: {}, lifecycle_state: "pending" });
    await resumed.until((e) => e.type === "changed" && e.resource.id === rid({ provider: "pragma", resource: "config", name: "after" }) && e.resource.lifecycle_state === "ready", "no live change after the reset");
  });
});
