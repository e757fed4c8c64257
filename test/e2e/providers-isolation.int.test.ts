import { waitFor } from "@pragma/testing";
import { call, startSystem, type RunningSystem } from "./system";
import { createOrg, rid, type Org } from "./tenant";
import { adminToken, api, pushDir, waitForBuild, writePackage } from "./pushed";

/** A provider that misbehaves on request (config.mode), written in plain JavaScript. */
const chaos = {
  "package.json": JSON.stringify({ name: "chaos", main: "index.js" }),
  "index.js": `
const { defineProvider, defineResourceType, PermanentError, RetryableError, z } = require("@pragma/provider-sdk");
const fs = require("node:fs");
const cp = require("node:child_process");
function probe(fn) { try { fn(); return "allowed"; } catch (e) { return e.code || e.message; } }
const thing = defineResourceType({
  name: "thing",
  description: "does what its mode says",
  config: z.object({ mode: z.enum(["ok", "throw", "permanent", "hang", "exit", "oom", "probe"]) }),
  outputs: z.record(z.string(), z.unknown()),
  async create(ctx) {
    switch (ctx.config.mode) {
      case "ok": return { ok: true, pid: process.pid };
      case "throw": throw new RetryableError("flaky backend");
      case "permanent": throw new PermanentError("bad input for good");
      case "hang": return new Promise(() => {});
      case "exit": process.exit(3);
      case "oom": { const hog = []; for (;;) hog.push(new Array(1e6).fill(Math.random())); }
      case "probe": return {
        env: Object.keys(process.env).join(","),
        read: probe(() => fs.readFileSync("/etc/hostname")),
        write: probe(() => fs.writeFileSync(__dirname + "/x", "x")),
        spawn: probe(() => cp.execSync("true")),
      };
    }
  },
  async update(ctx) { return this.create(ctx); },
  async delete() {},
});
module.exports = defineProvider({ name: "chaos", types: [thing] });
`,
};

/**
 * api.md §6 isolation: a provider that throws, hangs, exits or allocates without bound
 * fails its own events only; the worker, a built-in provider and the same provider's
 * other events carry on; the process has no environment, no file access outside its
 * directory and cannot spawn.
 */
describe("pushed provider isolation", () => {
  let sys: RunningSystem;
  let org: Org;
  let adminTok: string;
  beforeAll(async () => {
    sys = await startSystem("providers-isolation", {
      RETRY_TIERS_MS: "200",
      MAX_RETRIES: "1",
      PUSHED_HOOK_TIMEOUT_MS: "1500",
      PUSHED_MEMORY_MB: "48",
      // The worker's own secret must not reach the provider's environment.
      PRAGMA_TEST_WORKER_SECRET: "do-not-leak",
    });
    org = await createOrg(sys.baseUrl);
    const token = (adminTok = await adminToken(sys.baseUrl, org.orgId));
    const pushed = await pushDir(sys.baseUrl, token, "chaos", writePackage(chaos), { deploy: true });
    expect(pushed.status).toBe(202);
    const build = await waitForBuild(sys.baseUrl, token, "chaos", pushed.body.version);
    if (build.status !== "success") throw new Error((await api(sys.baseUrl, token)("GET", `/providers/chaos/builds/${pushed.body.version}/logs`)).text);
    await waitFor(async () => ((await org.client().req("GET", "/resources/types?provider=chaos")).body.length === 1 ? true : undefined), {
      timeoutMs: 20_000,
      intervalMs: 200,
      message: "chaos types never listed",
    });
  });
  afterAll(async () => {
    await sys?.stop();
  });

  it("throwing, hanging, exiting and memory-hungry hooks fail only their own events", async () => {
    const c = org.client();
    const modes = ["throw", "permanent", "hang", "exit", "oom"] as const;
    // One at a time: a crash fails every event in flight in that (org, provider, version)'s
    // process, which would blur which mode produced which error.
    const failed: Record<string, string> = {};
    for (const mode of modes) {
      const ref = { provider: "chaos", resource: "thing", name: mode };
      expect((await c.apply({ ...ref, config: { mode }, lifecycle_state: "pending" })).status).toBe(200);
      failed[mode] = (await c.waitFor(rid(ref), "failed", 45_000)).body.error;
    }
    expect(failed).toEqual({
      throw: expect.stringMatching(/flaky backend/),
      permanent: expect.stringMatching(/bad input for good/),
      hang: expect.stringMatching(/timed out after 1500 ms/),
      exit: expect.stringMatching(/exited with code 3|stopped/),
      oom: expect.stringMatching(/out of memory|exited|stopped/),
    });

    // The worker is still up: a built-in and the same provider's healthy events still go through.
    await c.apply({ provider: "pragma", resource: "config", name: "after-chaos", config: { a: 1 }, lifecycle_state: "pending" });
    await c.apply({ provider: "chaos", resource: "thing", name: "fine", config: { mode: "ok" }, lifecycle_state: "pending" });
    expect((await c.waitFor(rid({ provider: "pragma", resource: "config", name: "after-chaos" }), "ready", 30_000)).body.outputs).toEqual({ a: 1 });
    expect((await c.waitFor(rid({ provider: "chaos", resource: "thing", name: "fine" }), "ready", 30_000)).body.outputs.ok).toBe(true);

    // Every failed event is in the dead-letter store, the hung one after its retry.
    const dl = await waitFor(
      async () => {
        const r = await call(sys.baseUrl, "GET", "/ops/dead-letter?provider=chaos", { headers: { authorization: `Bearer ${adminTok}`, "x-project-id": org.projectId } });
        return r.status === 200 && r.body.length === modes.length ? r.body : undefined;
      },
      { timeoutMs: 20_000, intervalMs: 200, message: "dead letters never arrived" },
    );
    const hung = dl.find((e: { resource_name: string }) => e.resource_name === "hang");
    expect(hung.attempt_count).toBeGreaterThanOrEqual(2);
  });

  it("the provider's process has no environment, reads and writes nothing outside its directory, spawns nothing", async () => {
    const c = org.client();
    const ref = { provider: "chaos", resource: "thing", name: "probe" };
    await c.apply({ ...ref, config: { mode: "probe" }, lifecycle_state: "pending" });
    const r = await c.waitFor(rid(ref), "ready", 30_000);
    expect(r.body.outputs).toEqual({ env: "", read: "ERR_ACCESS_DENIED", write: "ERR_ACCESS_DENIED", spawn: "ERR_ACCESS_DENIED" });
  });
});
