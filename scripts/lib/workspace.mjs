// Shared helpers for scripts/*.mjs: where the workspace is, how to reach pnpm on a
// machine that may only have Node and npm, and installing dependencies when needed.
// Plain Node (no dependencies): these scripts run before `pnpm install` has happened.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** True when the module at `metaUrl` is the script node was asked to run. */
export function isMain(metaUrl) {
  return process.argv[1] !== undefined && metaUrl === pathToFileURL(process.argv[1]).href;
}

export function say(msg) {
  process.stderr.write(`[pragma] ${msg}\n`);
}

export function fail(msg, code = 1) {
  say(`ERROR: ${msg}`);
  process.exit(code);
}

/** The pnpm version pinned in package.json `packageManager` ("pnpm@10.34.9+sha..." -> "10.34.9"). */
export function pinnedPnpmVersion() {
  const pm = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).packageManager ?? "";
  const m = /^pnpm@([^+]+)/.exec(pm);
  if (!m) fail(`package.json packageManager is "${pm}", expected "pnpm@<version>"`);
  return m[1];
}

let pnpmCache;
/**
 * How to invoke pnpm: the one on PATH if there is one, else the pinned version through
 * npx (npm ships with Node and reaches the npm registry; corepack would too, but it
 * needs `corepack enable` which writes shims into Node's install dir, often not writable).
 */
export function pnpmCommand() {
  if (pnpmCache) return pnpmCache;
  const want = pinnedPnpmVersion();
  const probe = spawnSync("pnpm", ["--version"], { encoding: "utf8", cwd: root, stdio: ["ignore", "pipe", "pipe"] });
  if (probe.status === 0) {
    const have = probe.stdout.trim();
    if (have.split(".")[0] !== want.split(".")[0]) say(`warning: pnpm ${have} on PATH, package.json pins ${want}`);
    pnpmCache = { cmd: "pnpm", args: [], label: `pnpm ${have}` };
  } else {
    say(`pnpm is not on PATH; using npx --yes pnpm@${want}`);
    pnpmCache = { cmd: "npx", args: ["--yes", `pnpm@${want}`], label: `npx pnpm@${want}` };
  }
  return pnpmCache;
}

/** Run a command, inheriting stdio; resolves with the exit code (signals -> 128+n style 1). */
export function run(cmd, args, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: "inherit", ...opts });
    child.on("error", reject);
    child.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
  });
}

export async function runOrDie(what, cmd, args, opts) {
  const code = await run(cmd, args, opts);
  if (code !== 0) fail(`${what} failed (exit ${code})`, code);
}

export async function pnpm(args, opts) {
  const p = pnpmCommand();
  return run(p.cmd, [...p.args, ...args], opts);
}

/**
 * Dependencies need (re)installing when node_modules is missing or pnpm's copy of the
 * lockfile (node_modules/.pnpm/lock.yaml, written by every install) is older than or
 * differs from pnpm-lock.yaml. Comparing content as well as times means a fresh
 * `git checkout` (new mtimes, same lock) does not force a reinstall.
 */
export function depsAreStale() {
  const lock = join(root, "pnpm-lock.yaml");
  const installed = join(root, "node_modules", ".pnpm", "lock.yaml");
  if (!existsSync(join(root, "node_modules")) || !existsSync(installed)) return "node_modules is missing";
  if (!existsSync(lock)) return false;
  if (statSync(installed).mtimeMs >= statSync(lock).mtimeMs) return false;
  return readFileSync(installed, "utf8") === readFileSync(lock, "utf8") ? false : "pnpm-lock.yaml changed since the last install";
}

export async function ensureDeps() {
  const why = depsAreStale();
  if (!why) return;
  say(`installing dependencies (${why})`);
  const t0 = Date.now();
  const code = await pnpm(["install", "--frozen-lockfile"]);
  if (code !== 0) fail(`pnpm install --frozen-lockfile failed (exit ${code}); if a package.json changed, its author must commit the updated pnpm-lock.yaml`, code);
  say(`dependencies installed in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
}

export function elapsed(t0) {
  return `${((Date.now() - t0) / 1000).toFixed(1)}s`;
}
