#!/usr/bin/env node
// `npm start`: install if needed, build, and run the whole system on this machine
// against the infrastructure in DATABASE_URL / AMQP_URL / REDIS_URL (local defaults).
//
// - Development (NODE_ENV unset or != production): secrets are generated once into
//   .pragma/dev.env and reused; anything already in the environment wins.
// - Each service runs as `node services/<name>/dist/main.js`. At a terminal its lines are
//   prefixed by name (and coloured). Redirected, the output stays one JSON object per line
//   (`npm start --silent | jq`), each with its `service`: to a file the services write themselves,
//   to a pipe whole lines are passed through unchanged (a copy per chunk, no string work).
//   stderr (rare, and often not JSON: a crash's stack trace) is always prefixed.
//   WORKER_REPLICAS=N starts N provider workers (they share the work queues).
// - Metrics: each service gets its own METRICS_PORT from one range starting at METRICS_PORT
//   (default 9464): gateway 9464, registry 9465, resource-store 9466, provider workers 9467
//   and up. METRICS_PORT=off starts them without a metrics listener.
// - Ctrl-C / SIGTERM: SIGTERM to every service, wait for them to drain (SIGKILL after
//   15 s, or at once on a second Ctrl-C), exit 0.
// - Precedence: the environment, then .env (if present), then .pragma/dev.env.
// - A service that exits on its own (crash, `kill -9`) is restarted with backoff while the
//   others keep serving (compose's `restart: unless-stopped`): 0.5 s doubling to 30 s, reset
//   after 60 s up. 5 crashes of one service within 60 s is a crash loop: the runner says so,
//   stops everything and exits 1. Kills from outside (SIGKILL/SIGTERM/SIGINT/SIGHUP to the
//   service) are restarted but never count as a crash loop (scripts/lib/restart-policy.mjs).
//   Each start logs the pid.
// - Env START_TIMEOUT_SECONDS (default 120): how long to wait for /health/ready (every service serving).
// - `npm start -- --no-build` skips install and build (you just ran them).
// - PRAGMA_DEV_ENV_FILE: where the development secrets live (default .pragma/dev.env).
import { spawn } from "node:child_process";
import { existsSync, fstatSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { build, SERVICES } from "./build.mjs";
import { applyDevSecrets, parseEnvFile } from "./lib/dev-secrets.mjs";
import { RESTART_POLICY, RestartTracker } from "./lib/restart-policy.mjs";
import { ensureDeps, fail, root, say } from "./lib/workspace.mjs";

const GRACE_MS = 15_000;
const env = { ...process.env };
// A .env at the root (see .env.example) fills what the environment lacks.
if (existsSync(join(root, ".env"))) {
  const fromDotenv = Object.entries(parseEnvFile(readFileSync(join(root, ".env"), "utf8"))).filter(([k]) => !env[k]);
  for (const [k, v] of fromDotenv) env[k] = v;
  if (fromDotenv.length) say(`from .env: ${fromDotenv.map(([k]) => k).join(", ")}`);
}
env.NODE_ENV ||= "development";
const production = env.NODE_ENV === "production";

const replicas = Number(env.WORKER_REPLICAS ?? "1");
if (!Number.isInteger(replicas) || replicas < 1) fail(`WORKER_REPLICAS must be a positive integer, got "${env.WORKER_REPLICAS}"`);
const port = Number(env.GATEWAY_PORT || 8080);
const metricsOff = env.METRICS_PORT === "off";
const metricsBase = metricsOff ? 0 : Number(env.METRICS_PORT || 9464);
if (!metricsOff && (!Number.isInteger(metricsBase) || metricsBase < 1 || metricsBase + 3 + replicas > 65536)) {
  fail(`METRICS_PORT must be "off" or the first port of a free range of ${3 + replicas}, got "${env.METRICS_PORT}"`);
}
const startTimeoutMs = Number(env.START_TIMEOUT_SECONDS || 120) * 1000;

const args = process.argv.slice(2);
const unknown = args.filter((a) => a !== "--no-build");
if (unknown.length) fail(`unknown argument(s): ${unknown.join(" ")} (usage: npm start [-- --no-build])`);
if (!args.includes("--no-build")) {
  await ensureDeps();
  await build();
}

const missing = SERVICES.filter((s) => !existsSync(join(root, "services", s, "dist", "main.js")));
if (missing.length) fail(`not built: ${missing.map((s) => `services/${s}/dist/main.js`).join(", ")} (does services/<name>/src/main.ts exist?)`);

let serverKeyBanner;
if (!production) {
  const shown = env.PRAGMA_DEV_ENV_FILE || ".pragma/dev.env";
  const file = env.PRAGMA_DEV_ENV_FILE || join(root, ".pragma", "dev.env");
  const { fromFile, created } = applyDevSecrets(env, file);
  if (created) say(`generated development secrets in ${shown} (keep it: it holds the key that decrypts stored credentials)`);
  else if (fromFile.length) say(`using development secrets from ${shown}: ${fromFile.join(", ")}`);
  serverKeyBanner = fromFile.includes("PRAGMA_SERVER_KEY") ? `System API key (PRAGMA_SERVER_KEY, from ${shown}): ${env.PRAGMA_SERVER_KEY}` : "System API key: PRAGMA_SERVER_KEY from your environment";
}

// ---- children ---------------------------------------------------------------
const COLORS = [36, 35, 33, 32, 34, 91, 92, 93, 94, 95, 96];
const useColor = process.stdout.isTTY && !env.NO_COLOR;
const plan = [
  ["gateway", "gateway"],
  ["registry", "registry"],
  ["resource-store", "resource-store"],
  ...Array.from({ length: replicas }, (_, i) => [replicas === 1 ? "provider-worker" : `provider-worker-${i + 1}`, "provider-worker"]),
].map(([name, svc], i) => [name, svc, metricsOff ? "" : String(metricsBase + i)]);
const width = Math.max(...plan.map(([n]) => n.length));
const children = new Map(); // name -> { child, exited: Promise }
const trackers = new Map(); // name -> RestartTracker
const restarts = new Map(); // name -> timer of a pending restart
let stopping = false;
let exitCode = 0;

function prefixLines(stream, out, label) {
  const rl = createInterface({ input: stream, crlfDelay: Infinity });
  rl.on("line", (line) => out.write(`${label} ${line}\n`));
}

/** Copies whole lines only, so the services' lines never interleave mid-line in `out`. */
function passLines(stream, out) {
  let rest = null;
  stream.on("data", (chunk) => {
    const end = chunk.lastIndexOf(10) + 1; // after the last "\n"
    if (end === 0) {
      rest = rest ? Buffer.concat([rest, chunk]) : chunk;
      return;
    }
    out.write(rest ? Buffer.concat([rest, chunk.subarray(0, end)]) : chunk.subarray(0, end));
    rest = end < chunk.length ? chunk.subarray(end) : null;
  });
  stream.on("end", () => {
    if (rest) out.write(Buffer.concat([rest, Buffer.from("\n")]));
  });
}

// Written to a file, the services write to it themselves: the kernel keeps each write()
// whole on a regular file, so lines cannot interleave, and nothing needs relaying.
const stdoutIsFile = (() => {
  try {
    return fstatSync(1).isFile();
  } catch {
    return false;
  }
})();

function relay(stream, out, label) {
  if (out.isTTY) prefixLines(stream, out, label);
  else passLines(stream, out);
}

function startService(name, svc, metricsPort, i) {
  const label = useColor ? `\x1b[${COLORS[i % COLORS.length]}m${name.padEnd(width)} |\x1b[0m` : `${name.padEnd(width)} |`;
  // detached: its own process group, so a terminal Ctrl-C reaches only us and each
  // service gets exactly one SIGTERM (from us) rather than SIGINT and SIGTERM.
  const child = spawn(process.execPath, [join("services", svc, "dist", "main.js")], { cwd: root, env: { ...env, METRICS_PORT: metricsPort }, stdio: ["ignore", stdoutIsFile ? "inherit" : "pipe", "pipe"], detached: true });
  if (!stdoutIsFile) relay(child.stdout, process.stdout, label);
  // stderr is rare and often not JSON (a crash's stack trace): always say whose it is.
  prefixLines(child.stderr, process.stderr, label);
  const exited = new Promise((resolve) => {
    child.on("error", (err) => {
      say(`${name}: could not start: ${err.message}`);
      resolve({ code: 1, signal: null });
    });
    child.on("exit", (code, signal) => resolve({ code, signal }));
  });
  children.set(name, { child, exited });
  const startedAt = Date.now();
  if (child.pid) say(`${name} started (pid ${child.pid})`);
  exited.then(({ code, signal }) => {
    children.delete(name);
    const how = signal ?? `code ${code}`;
    if (stopping) {
      if (code !== 0 && signal !== "SIGTERM") say(`${name} exited with ${how} while stopping`);
      return;
    }
    if (!trackers.has(name)) trackers.set(name, new RestartTracker());
    const { giveUp, delayMs, recent } = trackers.get(name).onExit(startedAt, Date.now(), signal);
    if (giveUp) {
      const windowS = RESTART_POLICY.crashLoopWindowMs / 1000;
      say(`ERROR: ${name} is crash-looping: it exited ${recent} times within ${windowS} s (last: ${how}). Giving up on it and stopping everything; see its output above.`);
      void shutdown(1);
      return;
    }
    say(`${name} exited unexpectedly (${how}): restarting it in ${delayMs / 1000} s (${recent} crash(es) of its own in the last ${RESTART_POLICY.crashLoopWindowMs / 1000} s; the other services keep running)`);
    restarts.set(
      name,
      setTimeout(() => {
        restarts.delete(name);
        if (!stopping) startService(name, svc, metricsPort, i);
      }, delayMs),
    );
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    try {
      child.kill(signal);
    } catch {
      /* already gone */
    }
  }
}

let forceKill;
async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  exitCode = code;
  for (const timer of restarts.values()) clearTimeout(timer);
  restarts.clear();
  const live = [...children.entries()];
  if (live.length) say(`stopping ${live.map(([n]) => n).join(", ")} (SIGTERM; SIGKILL after ${GRACE_MS / 1000}s)`);
  for (const [, { child }] of live) killGroup(child, "SIGTERM");
  forceKill = () => {
    for (const [n, { child }] of children) {
      say(`${n} did not stop in time: SIGKILL`);
      killGroup(child, "SIGKILL");
    }
  };
  const timer = setTimeout(forceKill, GRACE_MS);
  await Promise.all(live.map(([, c]) => c.exited));
  clearTimeout(timer);
  say(exitCode === 0 ? "all services stopped" : `stopped (exit ${exitCode})`);
  process.exit(exitCode);
}

for (const sig of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.on(sig, () => {
    if (stopping) {
      if (forceKill) forceKill(); // second Ctrl-C: don't wait for the grace period
      return;
    }
    void shutdown(0);
  });
}
// If we die some other way, don't leave orphans behind.
process.on("exit", () => {
  for (const [, { child }] of children) killGroup(child, "SIGTERM");
});

say(`starting ${plan.map(([n]) => n).join(", ")} (NODE_ENV=${env.NODE_ENV})`);
plan.forEach(([name, svc, metricsPort], i) => startService(name, svc, metricsPort, i));

// ---- wait until the system is ready ---------------------------------------------
// /health/ready, not /health: the gateway listens before the registry, the store and the
// worker serve their queues, and "up" must mean a request gets through (a create-org sent
// on /health alone could meet a registry still migrating: 503).
const url = `http://127.0.0.1:${port}`;
const deadline = Date.now() + startTimeoutMs;
let healthy = false;
let lastReadiness = "no answer";
while (!stopping && Date.now() < deadline) {
  try {
    const res = await fetch(`${url}/health/ready`, { signal: AbortSignal.timeout(5000) });
    if (res.ok) {
      healthy = true;
      break;
    }
    lastReadiness = `${res.status} ${(await res.text()).slice(0, 500)}`;
  } catch {
    /* not listening yet */
  }
  await new Promise((r) => setTimeout(r, 500));
}
if (!stopping) {
  if (!healthy) {
    say(`the system was not ready (${url}/health/ready) within ${startTimeoutMs / 1000}s; its last answer: ${lastReadiness}`);
    await shutdown(1);
  } else {
    const lines = [`Pragma control plane is up: http://localhost:${port}  (health: /health, readiness: /health/ready)`];
    lines.push(`Web console: http://localhost:${port}/console/  (log in with an API key)`);
    if (serverKeyBanner) lines.push(serverKeyBanner);
    if (!metricsOff) lines.push(`Prometheus metrics: ${plan.map(([name, , p]) => `${name} :${p}`).join(", ")} (GET /metrics)`);
    lines.push("A service that crashes is restarted; Ctrl-C stops every service.");
    const w = Math.max(...lines.map((l) => l.length));
    const bar = "=".repeat(w + 4);
    // stderr, with the runner's other messages: stdout carries only the services' lines.
    process.stderr.write(`\n${bar}\n${lines.map((l) => `| ${l.padEnd(w)} |`).join("\n")}\n${bar}\n\n`);
  }
}
