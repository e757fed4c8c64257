import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import type { TestEnv } from "@pragma/testing";

const WORKER_DIR = path.resolve(__dirname, "..");
// tsx as a loader in this very node process (not its CLI wrapper), so the pid we
// signal and the pid that records executions are the same process.
const TSX_LOADER = require.resolve("tsx", { paths: [WORKER_DIR] });

export interface Child {
  proc: ChildProcess;
  exited: Promise<NodeJS.Signals | number | null>;
}

/** A real worker process (SIGKILL-able), configured through its environment like in production. */
export async function spawnWorker(env: TestEnv, extra: Record<string, string> = {}): Promise<Child> {
  const proc = spawn(process.execPath, ["--import", TSX_LOADER, path.join(__dirname, "fixtures/worker-child.ts")], {
    cwd: WORKER_DIR,
    env: {
      PATH: process.env.PATH,
      NODE_ENV: "test",
      LOG_LEVEL: "warn",
      AMQP_URL: env.amqpUrl,
      REDIS_URL: env.redisUrl,
      REDIS_PREFIX: env.redisPrefix,
      PROVIDERS: "test",
      RETRY_TIERS_MS: "200,400",
      WORKER_CONCURRENCY: "8",
      SHUTDOWN_TIMEOUT_MS: "5000",
      // Every attempt reports "started", so the crash's redelivery is visible in the attempts.
      STARTED_REPORT_DELAY_MS: "0",
      ...extra,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  proc.stderr!.on("data", (b: Buffer) => (stderr += b.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => proc.on("exit", (code, signal) => resolve(signal ?? code)));
  await new Promise<void>((resolve, reject) => {
    let out = "";
    proc.stdout!.on("data", (b: Buffer) => {
      out += b.toString();
      if (out.includes("WORKER_READY")) resolve();
    });
    void exited.then((how) => reject(new Error(`worker exited before it was ready (${String(how)}): ${stderr}`)));
  });
  return { proc, exited };
}

export async function stopWorker(c: Child): Promise<void> {
  if (c.proc.exitCode !== null || c.proc.signalCode !== null) return;
  c.proc.kill("SIGTERM");
  await c.exited;
}
