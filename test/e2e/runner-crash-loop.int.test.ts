import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestEnv, type TestEnv } from "@pragma/testing";
import { freePort, reap, SERVICES, startRunner, type Runner } from "./runner";

/** `npm start` giving up on a service that exits at once on every start (scripts/lib/restart-policy.mjs). */
describe("npm start gives up on a crash loop", () => {
  jest.setTimeout(180_000);
  let env: TestEnv;
  let runner: Runner | undefined;
  const tmp = mkdtempSync(path.join(tmpdir(), "pragma-runner-loop-"));

  beforeAll(async () => {
    env = await createTestEnv("runner-loop");
  });
  afterAll(async () => {
    const all = runner ? SERVICES.flatMap((n) => runner!.pids(n)) : [];
    await runner?.stop();
    reap(all);
    await env?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  it("says which service crash-loops, stops everything and exits 1", async () => {
    // The worker rejects this config and exits 1 at once, on every start; the others are fine.
    runner = startRunner(env, await freePort(), path.join(tmp, "dev.env"), { WORKER_CONCURRENCY: "not-a-number" });
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([runner.exited, new Promise<string>((r) => (timer = setTimeout(() => r("still running after 120 s"), 120_000)))]);
    clearTimeout(timer);
    const err = runner.stderr();
    expect(code).toBe(1);
    expect(err).toMatch(/ERROR: provider-worker is crash-looping: it exited 5 times within 60 s \(last: code 1\)/);
    expect(err).toContain("WORKER_CONCURRENCY"); // its own complaint reached the user
    expect(runner.pids("provider-worker")).toHaveLength(5);
    // The backoff between the starts: 0.5, 1, 2 and 4 s.
    for (const d of ["0.5", "1", "2", "4"]) expect(err).toContain(`provider-worker exited unexpectedly (code 1): restarting it in ${d} s`);
    // The healthy services were started once and stopped by the runner, not restarted.
    for (const name of ["gateway", "registry", "resource-store"]) expect(runner.pids(name)).toHaveLength(1);
    const all = SERVICES.flatMap((n) => runner!.pids(n));
    for (const pid of all) expect(() => process.kill(pid, 0)).toThrow();
  });
});
