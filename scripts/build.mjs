#!/usr/bin/env node
// `npm run build`: generate the Prisma clients, then `tsc -b` over the whole workspace.
//
//   node scripts/build.mjs [--force]     --force regenerates Prisma clients even if unchanged
//
// Prisma: `prisma generate` downloads the schema-engine binary unless
// PRISMA_SCHEMA_ENGINE_BINARY names an existing file; generate never executes it, so
// any file will do (we use node itself). The generated client (src/generated/prisma,
// git-ignored) is regenerated only when the schema, prisma.config.ts or the prisma
// version changed, which keeps `npm start` / `npm test` fast on repeat runs.
//
// The web console (packages/console) is typechecked (`tsc --noEmit`) and bundled with
// Vite into packages/console/dist (git-ignored), which the gateway serves under
// /console/; both are skipped when none of its inputs changed since the last build.
import { createHash } from "node:crypto";
import { chmodSync, existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { elapsed, ensureDeps, fail, isMain, pnpm, root, run, say } from "./lib/workspace.mjs";

const PRISMA_SERVICES = ["registry", "resource-store"];
export const SERVICES = ["gateway", "registry", "resource-store", "provider-worker"];
// The `pragma` command: the root package.json's `bin` (so `npx pragma` runs it from the checkout).
const CLI_BIN = join(root, "packages", "cli", "dist", "bin.js");

function prismaEnv() {
  const env = { ...process.env };
  if (!env.PRISMA_SCHEMA_ENGINE_BINARY || !existsSync(env.PRISMA_SCHEMA_ENGINE_BINARY)) env.PRISMA_SCHEMA_ENGINE_BINARY = process.execPath;
  // prisma.config.ts may read DATABASE_URL; generate never connects.
  env.DATABASE_URL ??= "postgresql://postgres@127.0.0.1:5432/pragma";
  env.CHECKPOINT_DISABLE = "1"; // no telemetry/update check round-trip
  env.PRISMA_HIDE_UPDATE_MESSAGE = "1";
  return env;
}

function prismaFingerprint(dir) {
  const h = createHash("sha256");
  for (const f of ["prisma/schema.prisma", "prisma.config.ts"]) {
    const p = join(dir, f);
    h.update(f).update(existsSync(p) ? readFileSync(p) : "-");
  }
  const pkg = join(dir, "node_modules", "prisma", "package.json");
  h.update(existsSync(pkg) ? JSON.parse(readFileSync(pkg, "utf8")).version : "-");
  return h.digest("hex");
}

async function prismaGenerate({ force }) {
  const env = prismaEnv();
  for (const svc of PRISMA_SERVICES) {
    const dir = join(root, "services", svc);
    if (!existsSync(join(dir, "prisma", "schema.prisma"))) {
      say(`prisma: services/${svc} has no prisma/schema.prisma yet, skipping generate`);
      continue;
    }
    const out = join(dir, "src", "generated", "prisma");
    const stamp = join(out, ".pragma-build-stamp");
    const fp = prismaFingerprint(dir);
    if (!force && existsSync(stamp) && readFileSync(stamp, "utf8") === fp) {
      say(`prisma: services/${svc} client is up to date`);
      continue;
    }
    const t0 = Date.now();
    const code = await pnpm(["--filter", `./services/${svc}`, "exec", "prisma", "generate"], { env });
    if (code !== 0) fail(`prisma generate for services/${svc} failed (exit ${code})`, code);
    if (existsSync(out)) writeFileSync(stamp, fp);
    say(`prisma: generated services/${svc} client in ${elapsed(t0)}`);
  }
}

function stripJsonComments(text) {
  return text.replace(/\\"|"(?:\\"|[^"])*"|(\/\/.*|\/\*[\s\S]*?\*\/)/g, (m, c) => (c ? "" : m));
}

function hasSources(dir) {
  const walk = (d) => {
    if (!existsSync(d)) return false;
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) {
        if (walk(join(d, e.name))) return true;
      } else if (e.name.endsWith(".ts") && !e.name.endsWith(".test.ts")) return true;
    }
    return false;
  };
  return walk(join(dir, "src"));
}

async function typescriptBuild() {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const refs = JSON.parse(stripJsonComments(readFileSync(join(root, "tsconfig.json"), "utf8"))).references ?? [];
  const projects = refs.map((r) => join(root, r.path));
  const empty = projects.filter((p) => !hasSources(p));
  const t0 = Date.now();
  let code;
  if (empty.length === 0) {
    code = await run(process.execPath, [tsc, "-b"]);
  } else {
    // tsc fails a project with no inputs (TS18003); while services are being written,
    // build the rest and say loudly what was left out.
    say(`WARNING: no TypeScript sources yet in ${empty.map((p) => relative(root, p)).join(", ")}: not built`);
    const rest = projects.filter((p) => !empty.includes(p)).map((p) => relative(root, p));
    code = rest.length ? await run(process.execPath, [tsc, "-b", ...rest]) : 0;
  }
  if (code !== 0) fail(`tsc -b failed (exit ${code})`, code);
  // tsc writes 0644; `npx pragma` and a global install exec the file itself.
  if (existsSync(CLI_BIN)) chmodSync(CLI_BIN, 0o755);
  say(`typescript: built in ${elapsed(t0)}`);
  const unstartable = SERVICES.filter((s) => !existsSync(join(root, "services", s, "src", "main.ts")));
  if (unstartable.length) say(`WARNING: no src/main.ts in ${unstartable.map((s) => `services/${s}`).join(", ")}: npm start cannot run ${unstartable.length > 1 ? "them" : "it"} yet`);
  return { empty, unstartable };
}

/** What the console bundle is made of: its own files and the sources it aliases (see its vite.config.ts). */
const CONSOLE_INPUTS = ["packages/console/src", "packages/console/index.html", "packages/console/vite.config.ts", "packages/console/tsconfig.json",
  "packages/console/package.json", "packages/cli/src", "packages/contracts/src", "packages/ids/src", "pnpm-lock.yaml"];

function consoleFingerprint() {
  const h = createHash("sha256");
  const add = (p) => {
    if (!existsSync(p)) return void h.update(`${p}:-`);
    if (statSync(p).isDirectory()) {
      for (const e of readdirSync(p).sort()) add(join(p, e));
    } else h.update(relative(root, p)).update(readFileSync(p));
  };
  for (const p of CONSOLE_INPUTS) add(join(root, p));
  return h.digest("hex");
}

async function consoleBuild({ force }) {
  const dir = join(root, "packages", "console");
  const stamp = join(dir, "dist", ".pragma-build-stamp");
  const fp = consoleFingerprint();
  if (!force && existsSync(join(dir, "dist", "index.html")) && existsSync(stamp) && readFileSync(stamp, "utf8") === fp) {
    say("console: packages/console/dist is up to date");
    return;
  }
  const t0 = Date.now();
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const checked = await run(process.execPath, [tsc, "-p", "packages/console/tsconfig.json", "--noEmit"]);
  if (checked !== 0) fail(`console: typecheck failed (exit ${checked})`, checked);
  const vite = join(dir, "node_modules", "vite", "bin", "vite.js");
  const built = await run(process.execPath, [vite, "build", "--logLevel", "warn"], { cwd: dir });
  if (built !== 0) fail(`console: vite build failed (exit ${built})`, built);
  writeFileSync(stamp, fp);
  say(`console: built packages/console/dist in ${elapsed(t0)}`);
}

export async function build({ force = false } = {}) {
  const t0 = Date.now();
  await prismaGenerate({ force });
  const result = await typescriptBuild();
  await consoleBuild({ force });
  say(`build done in ${elapsed(t0)}`);
  return result;
}

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  const unknown = args.filter((a) => a !== "--force");
  if (unknown.length) fail(`unknown argument(s): ${unknown.join(" ")} (usage: node scripts/build.mjs [--force])`);
  await ensureDeps();
  await build({ force: args.includes("--force") });
}
