// The system under test: `node scripts/start.mjs --no-build` (what `npm start` runs) as a
// child with the run's own port, database, vhost and Redis prefix, its output in a log file.
// The runner logs "<service> started (pid N)" for every start, which is how a scenario finds
// the process to kill and sees it come back.
import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { call, mustCall, ROOT, say, sleep } from "./util";

export interface System {
  baseUrl: string;
  serverKey: string;
  /** Pids the runner reported for `service`, in start order. */
  pids(service: string): number[];
  /** Every exit the runner saw and restarted, as "<service>: <code or signal>". */
  restarts(): string[];
  /** The runner exited (it stops everything when it gives up); null while it runs. */
  exitCode(): number | null;
  stop(): Promise<void>;
}

export async function startSystem(opts: { port: number; databaseUrl: string; amqpUrl: string; redisUrl: string; redisPrefix: string; logFile: string; devEnvFile: string; workers: number }): Promise<System> {
  for (const s of ["gateway", "registry", "resource-store", "provider-worker"]) {
    if (!existsSync(join(ROOT, "services", s, "dist", "main.js"))) throw new Error(`services/${s}/dist/main.js is missing: run \`npm run build\` first`);
  }
  const serverKey = `chaos_${randomBytes(18).toString("base64url")}`;
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    NODE_ENV: "development",
    LOG_LEVEL: process.env.LOG_LEVEL || "warn",
    GATEWAY_PORT: String(opts.port),
    METRICS_PORT: "off",
    DATABASE_URL: opts.databaseUrl,
    AMQP_URL: opts.amqpUrl,
    REDIS_URL: opts.redisUrl,
    REDIS_KEY_PREFIX: opts.redisPrefix,
    REDIS_PREFIX: `${opts.redisPrefix}worker:`,
    PRAGMA_SERVER_KEY: serverKey,
    PRAGMA_DEV_ENV_FILE: opts.devEnvFile,
    WORKER_REPLICAS: String(opts.workers),
  };
  const fd = openSync(opts.logFile, "a");
  let child: ChildProcess;
  try {
    child = spawn(process.execPath, [join(ROOT, "scripts", "start.mjs"), "--no-build"], { cwd: ROOT, env, stdio: ["ignore", fd, fd] });
  } finally {
    closeSync(fd);
  }
  const log = () => readFileSync(opts.logFile, "utf8");
  const baseUrl = `http://127.0.0.1:${opts.port}`;
  const deadline = Date.now() + 180_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`scripts/start.mjs exited (${child.exitCode}); see ${opts.logFile}`);
    if ((await call(baseUrl, "GET", "/health/ready", { timeoutMs: 2000 })).status === 200) break;
    if (Date.now() > deadline) throw new Error(`the system was not ready within 180 s; see ${opts.logFile}`);
    await sleep(500);
  }
  say(`system up on ${baseUrl} (log: ${opts.logFile})`);
  return {
    baseUrl,
    serverKey,
    pids: (service) => [...log().matchAll(new RegExp(`\\[pragma\\] ${service} started \\(pid (\\d+)\\)`, "g"))].map((m) => Number(m[1])),
    restarts: () => [...log().matchAll(/\[pragma\] (\S+) exited unexpectedly \(([^)]+)\)/g)].map((m) => `${m[1]}: ${m[2]}`),
    exitCode: () => child.exitCode,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      const t = setTimeout(() => child.kill("SIGKILL"), 30_000);
      await exited;
      clearTimeout(t);
    },
  };
}

export interface Tenant {
  orgId: string;
  projectId: string;
  spaceId: string;
  headers: Record<string, string>;
}

const ULID = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
function ulid(): string {
  let t = Date.now();
  let s = "";
  for (let i = 0; i < 10; i++) {
    s = ULID[t % 32] + s;
    t = Math.floor(t / 32);
  }
  for (const b of randomBytes(16)) s += ULID[b % 32];
  return s;
}

/**
 * A fresh org whose project registers `database` (the server the postgres provider creates
 * roles and databases on), an operator key bound to it, and a rate limit no load reaches.
 */
export async function createTenant(sys: System, database: { host: string; port: number }): Promise<Tenant> {
  const sk = { "x-server-key": sys.serverKey };
  const orgId = ulid();
  const abbr = `c${orgId.slice(-10).toLowerCase()}`;
  await mustCall(sys.baseUrl, "POST", "/orgs", {
    headers: sk,
    body: { org_id: orgId, name: `chaos ${abbr}`, abbreviation: abbr, admin_email: "chaos@example.test", admin_name: "Chaos", address: "1 Loop", state: "NA", country: "NA", pin_code: "00000" },
  });
  await mustCall(sys.baseUrl, "PATCH", `/orgs/${orgId}`, { headers: sk, body: { rate_limit: { requests_per_second: 1_000_000, burst: 1_000_000 } } });
  const db = { host: database.host, port: String(database.port), username: "postgres", password: "chaos-unused", db_name: "postgres", db_type: "postgres" };
  const project = await mustCall(sys.baseUrl, "POST", `/orgs/${orgId}/projects`, {
    headers: sk,
    body: { name: "chaos", abbreviation: "chaos", database: [{ connect_timeout_secs: 5, idle_timeout_secs: 30, max_open_connections: 5, max_idle_connections: 2, ...db }] },
  });
  const projectId = project.body.project_id as string;
  const spaceId = project.body.space_id as string;
  const key = await mustCall(sys.baseUrl, "POST", `/orgs/${orgId}/api-keys`, { headers: sk, body: { name: "chaos", role: "operator", project_id: projectId, space_id: spaceId } });
  const token = await mustCall(sys.baseUrl, "POST", "/auth/token", { body: { api_key: key.body.api_key } });
  return { orgId, projectId, spaceId, headers: { authorization: `Bearer ${token.body.access_token}`, "x-project-id": projectId, "x-space-id": spaceId } };
}
