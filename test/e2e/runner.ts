import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import path from "node:path";
import type { TestEnv } from "@pragma/testing";
import { generateJwtKey, jwtKeysJson } from "../../services/gateway/src/config";
import { SERVER_KEY, testEncryptionKeys } from "./system";

/**
 * `npm start` (scripts/start.mjs and the built services) as a child of the test, on its own
 * port, database, vhost and Redis prefix, for the tests of its supervision
 * (runner-restarts.int.test.ts, runner-crash-loop.int.test.ts).
 */
const ROOT = path.resolve(__dirname, "../..");

export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as { port: number };
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

export interface Runner {
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

export function startRunner(env: TestEnv, port: number, devEnvFile: string, extra: Record<string, string> = {}): Runner {
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
      // The worker's own prefix, under the test's, so env.dispose() deletes its keys too.
      REDIS_PREFIX: `${env.redisPrefix}worker:`,
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
export function reap(pids: number[]) {
  for (const pid of pids) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
}

export const SERVICES = ["gateway", "registry", "resource-store", "provider-worker"];
