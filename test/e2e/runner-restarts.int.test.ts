import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestEnv, waitFor, type TestEnv } from "@pragma/testing";
import { freePort, reap, SERVICES, startRunner, type Runner } from "./runner";
import { createOrg, rid, type Client } from "./tenant";

/**
 * `npm start` supervising its services: a service killed with SIGKILL is restarted and works
 * again while the gateway keeps answering (the policy: scripts/lib/restart-policy.mjs; the
 * crash loop: runner-crash-loop.int.test.ts).
 */
describe("npm start restarts a crashed service", () => {
  jest.setTimeout(180_000);
  let env: TestEnv;
  let runner: Runner;
  let baseUrl: string;
  let client: Client;
  const tmp = mkdtempSync(path.join(tmpdir(), "pragma-runner-"));
  // The gateway is polled the whole time: the other services keep serving while one restarts.
  const healthFailures: string[] = [];
  let polling = true;
  let poller: Promise<void> | undefined;

  beforeAll(async () => {
    env = await createTestEnv("runner");
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    runner = startRunner(env, port, path.join(tmp, "dev.env"));
    await waitFor(async () => (runner.stderr().includes("Pragma control plane is up") ? true : undefined), {
      timeoutMs: 120_000,
      intervalMs: 200,
      message: "the runner never said the system is up",
    }).catch((e: Error) => {
      throw new Error(`${e.message}\n${runner.stderr().slice(-4000)}`);
    });
    client = (await createOrg(baseUrl)).client();
    poller = (async () => {
      while (polling) {
        const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(5000) }).catch((e: Error) => e);
        if (res instanceof Error || res.status !== 200) healthFailures.push(res instanceof Error ? res.message : String(res.status));
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
  });

  afterAll(async () => {
    polling = false;
    await poller;
    const all = runner ? SERVICES.flatMap((n) => runner.pids(n)) : [];
    await runner?.stop();
    reap(all);
    await env?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function killAndSeeRestarted(name: string, delay = "0.5") {
    const before = runner.live(name);
    expect(before).toHaveLength(1);
    process.kill(before[0]!, "SIGKILL");
    const after = await waitFor(
      async () => {
        const now = runner.live(name);
        // A new process, and the runner named its pid (its stderr may arrive a moment after ps sees the child).
        return now.length === 1 && now[0] !== before[0] && runner.pids(name).at(-1) === now[0] ? now : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: `${name} was not restarted` },
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${runner.stderr().slice(-3000)}`);
    });
    expect(after).toHaveLength(1);
    expect(runner.stderr()).toContain(`${name} exited unexpectedly (SIGKILL): restarting it in ${delay} s`);
  }

  /** Applies a no-op resource (retrying while the store comes back) and waits until it is ready. */
  async function applyReady(name: string) {
    await waitFor(
      async () => {
        const res = await client.apply({ provider: "pragma", resource: "config", name, config: { n: name }, lifecycle_state: "pending" });
        return res.status < 300 ? res : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500, message: `apply of ${name} never accepted` },
    );
    await client.waitFor(rid({ provider: "pragma", resource: "config", name }), "ready", 60_000);
  }

  it("brings back a provider worker killed with SIGKILL five times in a row (kills from outside are no crash loop), and its work gets done", async () => {
    await applyReady("before-kill");
    // The backoff doubles per kill; five own crashes would be a crash loop, five kills are not.
    for (const delay of ["0.5", "1", "2", "4", "8"]) await killAndSeeRestarted("provider-worker", delay);
    await applyReady("after-worker-kills");
    expect(runner.stderr()).not.toContain("crash-looping");
  });

  it("brings back a resource store killed with SIGKILL", async () => {
    await killAndSeeRestarted("resource-store");
    await applyReady("after-store-kill");
  });

  it("kept the gateway answering throughout, and stops everything on SIGTERM without restarting", async () => {
    polling = false;
    await poller;
    expect(healthFailures).toEqual([]);
    expect(runner.pids("gateway")).toHaveLength(1);
    const all = SERVICES.flatMap((n) => runner.pids(n));
    const code = await runner.stop();
    expect(code).toBe(0);
    const afterStop = runner.stderr().slice(runner.stderr().indexOf("stopping "));
    expect(afterStop).not.toContain("restarting it");
    expect(afterStop).toContain("all services stopped");
    // Every process it started is gone.
    for (const pid of all) expect(() => process.kill(pid, 0)).toThrow();
  });
});

