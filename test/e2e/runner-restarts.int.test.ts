import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { createTestEnv, waitFor, type TestEnv } from "@pragma/testing";
import { generateJwtKey, jwtKeysJson } from "../../services/gateway/src/config";
import { SERVER_KEY, testEncryptionKeys } from "./system";
import { createOrg, rid, type Client } from "./tenant";

/**
 * `npm start` (scripts/start.mjs, the built services) supervising its services: a service
 * killed with SIGKILL is restarted and works again while the gateway keeps answering, and a
 * service that exits at once on every start is given up on, loudly, with a non-zero exit.
 * The policy's numbers: scripts/lib/restart-policy.mjs.
 */
const ROOT = path.resolve(__dirname, "../..");

async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

interface Runner {
  proc: ChildProcess;
  exited: Promise<number | null>;
  /** What the runner itself said (its `[pragma]` lines on stderr) and the services' stderr. */
  stderr(): string;
  /** Pids the runner reported for `name`, in start order. */
  pids(name: string): number[];
  /** Pids of the runner's live children that run `services/<name>/dist/main.js` (from ps, not from what it says). */
  live(name: string): number[];
  stop(): Promise<number | null>;
}

function startRunner(env: TestEnv, port: number, devEnvFile: string, extra: Record<string, string> = {}): Runner {
  const proc = spawn(process.execPath, [path.join(ROOT, "scripts", "start.mjs"), "--no-build"], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      DATABASE_URL: env.databaseUrl,
      AMQP_URL: env.amqpUrl,
      REDIS_URL: env.redisUrl,
      REDIS_KEY_PREFIX: env.redisPrefix,
      GATEWAY_PORT: String(port),
      METRICS_PORT: "off",
      PRAGMA_SERVER_KEY: SERVER_KEY,
      PRAGMA_ENCRYPTION_KEYS: testEncryptionKeys(),
      JWT_KEYS: jwtKeysJson([generateJwtKey("runner")]),
      JWT_ACTIVE_KID: "runner",
      // Nothing to generate (every secret is above), but never write into the checkout.
      PRAGMA_DEV_ENV_FILE: devEnvFile,
      RATE_LIMIT_RPS: "1000",
      RATE_LIMIT_BURST: "2000",
      ...extra,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let err = "";
  proc.stderr!.on("data", (b: Buffer) => (err += b.toString()));
  const exited = new Promise<number | null>((r) => proc.on("exit", (code) => r(code)));
  const pids = (name: string) => [...err.matchAll(new RegExp(`\\[pragma\\] ${name} started \\(pid (\\d+)\\)`, "g"))].map((m) => Number(m[1]));
  const live = (name: string) => {
    const ps = spawnSync("ps", ["-o", "pid=,args=", "--ppid", String(proc.pid)], { encoding: "utf8" }).stdout;
    return ps
      .split("\n")
      .filter((l) => l.includes(`services/${name}/dist/main.js`))
      .map((l) => Number(l.trim().split(/\s+/)[0]));
  };
  return {
    proc,
    exited,
    stderr: () => err,
    pids,
    live,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** A pid the runner started, SIGKILLed if it is still there (after a test that failed half-way). */
function reap(pids: number[]) {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

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
    const all = runner ? ["gateway", "registry", "resource-store", "provider-worker"].flatMap((n) => runner.pids(n)) : [];
    await runner?.stop();
    reap(all);
    await env?.dispose();
    rmSync(tmp, { recursive: true, force: true });
  });

  async function killAndSeeRestarted(name: string) {
    const before = runner.live(name);
    expect(before).toHaveLength(1);
    process.kill(before[0]!, "SIGKILL");
    const after = await waitFor(
      async () => {
        const now = runner.live(name);
        return now.length === 1 && now[0] !== before[0] ? now : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 100, message: `${name} was not restarted` },
    ).catch((e: Error) => {
      throw new Error(`${e.message}\n${runner.stderr().slice(-3000)}`);
    });
    expect(runner.pids(name).at(-1)).toBe(after[0]); // the runner names the new pid
    expect(runner.stderr()).toContain(`${name} exited unexpectedly (SIGKILL): restarting it in 0.5 s`);
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

  it("brings back a provider worker killed with SIGKILL, and its work gets done", async () => {
    await applyReady("before-kill");
    await killAndSeeRestarted("provider-worker");
    await applyReady("after-worker-kill");
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
    const all = ["gateway", "registry", "resource-store", "provider-worker"].flatMap((n) => runner.pids(n));
    const code = await runner.stop();
    expect(code).toBe(0);
    const afterStop = runner.stderr().slice(runner.stderr().indexOf("stopping "));
    expect(afterStop).not.toContain("restarting it");
    expect(afterStop).toContain("all services stopped");
    // Every process it started is gone.
    for (const pid of all) expect(() => process.kill(pid, 0)).toThrow();
  });
});

describe("npm start gives up on a crash loop", () => {
  jest.setTimeout(180_000);
  let env: TestEnv;
  let runner: Runner | undefined;
  const tmp = mkdtempSync(path.join(tmpdir(), "pragma-runner-loop-"));

  beforeAll(async () => {
    env = await createTestEnv("runner-loop");
  });
  afterAll(async () => {
    const all = runner ? ["gateway", "registry", "resource-store", "provider-worker"].flatMap((n) => runner!.pids(n)) : [];
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
    const all = ["gateway", "registry", "resource-store", "provider-worker"].flatMap((n) => runner!.pids(n));
    for (const pid of all) expect(() => process.kill(pid, 0)).toThrow();
  });
});
