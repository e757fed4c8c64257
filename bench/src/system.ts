import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync } from "node:fs";
import { dirname, join } from "node:path";
import { randomBytes } from "node:crypto";
import { call, mustCall } from "./http";
import { GATEWAY_URL, ROOT, sleep, systemEnv } from "./env";

/** Env that makes a Node process write a CPU profile on exit (see cpu-profile.cjs). */
export function profileEnv(dir: string, base: Record<string, string | undefined> = {}): Record<string, string> {
  return { BENCH_CPU_PROF_DIR: dir, NODE_OPTIONS: `${base.NODE_OPTIONS ?? ""} --require ${join(__dirname, "cpu-profile.cjs")}`.trim() };
}

/**
 * The child writes its output straight into the log file (opened for appending, so its
 * stdout and stderr interleave by whole writes): relayed through the bench, every log line
 * of the system would cost the load generator CPU that the run counts as the bench's.
 */
function spawnLogged(args: string[], env: Record<string, string | undefined>, logFile: string): ChildProcess {
  // bench/results is not in a fresh checkout (git-ignored): the first run makes it.
  mkdirSync(dirname(logFile), { recursive: true });
  const fd = openSync(logFile, "a");
  try {
    return track(spawn(process.execPath, args, { cwd: ROOT, env, stdio: ["ignore", fd, fd] }));
  } finally {
    closeSync(fd); // the child holds its own copy
  }
}

/** Processes the bench started; all are stopped with SIGTERM (by pid) before it exits. */
const children = new Set<ChildProcess>();

export function track(child: ChildProcess): ChildProcess {
  children.add(child);
  child.on("exit", () => children.delete(child));
  return child;
}

export async function stopChild(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await exited;
  clearTimeout(timer);
}

export async function stopAll(): Promise<void> {
  // Extra workers and reference servers first, the system (start.mjs) last.
  const list = [...children].reverse();
  for (const c of list) await stopChild(c);
}

const ULID_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
function ulid(): string {
  let time = Date.now();
  let t = "";
  for (let i = 0; i < 10; i++) {
    t = ULID_ALPHABET[time % 32] + t;
    time = Math.floor(time / 32);
  }
  const rnd = randomBytes(16);
  let r = "";
  for (let i = 0; i < 16; i++) r += ULID_ALPHABET[rnd[i]! % 32];
  return t + r;
}

export async function waitHealthy(baseUrl: string, timeoutMs: number, path = "/health"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await call(baseUrl, "GET", path, { timeoutMs: 2000 });
      if (res.status === 200) return;
      last = `${res.status} ${res.text.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await sleep(500);
  }
  throw new Error(`${baseUrl}${path} not healthy within ${timeoutMs / 1000}s (last: ${last})`);
}

/**
 * `--start`: runs `node scripts/start.mjs` (what `npm start` runs) as a child, its output
 * to a log file, and waits until the gateway reports every dependency ready.
 */
export async function startSystem(opts: { build: boolean; logFile: string; profileDir?: string; gatewayProcesses: number }): Promise<ChildProcess> {
  const health = await call(GATEWAY_URL, "GET", "/health", { timeoutMs: 1000 }).catch(() => undefined);
  if (health) throw new Error(`something already answers ${GATEWAY_URL}/health: stop it, or run without --start`);
  const env: Record<string, string> = { ...systemEnv(), WORKER_REPLICAS: "1", GATEWAY_PROCESSES: String(opts.gatewayProcesses) };
  if (opts.profileDir) {
    mkdirSync(opts.profileDir, { recursive: true });
    Object.assign(env, profileEnv(opts.profileDir, env));
  }
  const args = [join(ROOT, "scripts", "start.mjs"), ...(opts.build ? [] : ["--no-build"])];
  const child = spawnLogged(args, env, opts.logFile);
  const died = new Promise<never>((_, reject) => child.once("exit", (code) => reject(new Error(`scripts/start.mjs exited (${code}); see ${opts.logFile}`))));
  await Promise.race([waitHealthy(GATEWAY_URL, 300_000, "/health"), died]);
  await Promise.race([waitHealthy(GATEWAY_URL, 60_000, "/health/ready"), died]);
  return child;
}

/** One more provider worker with the env `npm start` gives its workers (dev secrets included). */
export async function startExtraWorker(opts: { logFile: string; profileDir?: string }): Promise<ChildProcess> {
  const main = join(ROOT, "services", "provider-worker", "dist", "main.js");
  if (!existsSync(main)) throw new Error(`${main} not built (run npm run build or npm start once)`);
  const env = systemEnv();
  if (opts.profileDir) Object.assign(env, profileEnv(opts.profileDir, env));
  const child = spawnLogged([main], env, opts.logFile);
  await sleep(3000); // connect, declare topology, start consuming
  if (child.exitCode !== null) throw new Error(`extra worker exited (${child.exitCode}); see ${opts.logFile}`);
  return child;
}

export interface Tenant {
  orgId: string;
  projectId: string;
  spaceId: string;
  /** Bearer headers of a member key and an operator key bound to the project. */
  member: Record<string, string>;
  operator: Record<string, string>;
  serverKey: Record<string, string>;
}

/**
 * A fresh org per run (so runs never see each other's resources), with its rate limit
 * raised far above what the bench can send: rate limiting stays on and is still paid for
 * on every request, it just never answers 429.
 */
export async function createTenant(label: string, opts: { database?: Record<string, unknown> } = {}): Promise<Tenant> {
  const env = systemEnv();
  const key = env.PRAGMA_SERVER_KEY;
  if (!key) throw new Error("PRAGMA_SERVER_KEY unknown: run `npm start` once (it writes .pragma/dev.env) or export it");
  const sk = { "x-server-key": key };
  const orgId = ulid();
  const abbr = `b${orgId.slice(-10).toLowerCase()}`;
  await mustCall(GATEWAY_URL, "POST", "/orgs", {
    headers: sk,
    body: { org_id: orgId, name: `bench ${label}`, abbreviation: abbr, admin_email: "bench@example.test", admin_name: "Bench", address: "1 Loop", state: "NA", country: "NA", pin_code: "00000" },
  });
  const patched = await call(GATEWAY_URL, "PATCH", `/orgs/${orgId}`, { headers: sk, body: { rate_limit: { requests_per_second: 1_000_000, burst: 1_000_000 } } });
  if (patched.status !== 200) throw new Error(`PATCH /orgs/${orgId} rate_limit → ${patched.status}: ${patched.text.slice(0, 300)}`);
  const database = {
    host: "127.0.0.1",
    port: "5432",
    username: "postgres",
    password: "bench-unused",
    db_name: "postgres",
    db_type: "postgres",
    ...opts.database,
  };
  const project = await mustCall(GATEWAY_URL, "POST", `/orgs/${orgId}/projects`, {
    headers: sk,
    body: {
      name: label,
      abbreviation: label.toLowerCase().replace(/[^a-z0-9-]/g, "-").slice(0, 30),
      database: [{ connect_timeout_secs: 2, idle_timeout_secs: 30, max_open_connections: 5, max_idle_connections: 2, ...database }],
    },
  });
  const projectId = project.body.project_id as string;
  const spaceId = project.body.space_id as string;
  const token = async (role: string) => {
    const k = await mustCall(GATEWAY_URL, "POST", `/orgs/${orgId}/api-keys`, { headers: sk, body: { name: `bench-${role}`, role, project_id: projectId, space_id: spaceId } });
    const t = await mustCall(GATEWAY_URL, "POST", "/auth/token", { body: { api_key: k.body.api_key } });
    return { authorization: `Bearer ${t.body.access_token}` };
  };
  return { orgId, projectId, spaceId, member: await token("member"), operator: await token("operator"), serverKey: sk };
}
