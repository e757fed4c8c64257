#!/usr/bin/env node
// `npm test [-- <jest args>]`: install if needed, build (Prisma clients + `tsc -b`,
// which is also the type check), then jest from the root with the given arguments.
//
// Jest runs 2 workers unless told otherwise (-i/--runInBand/-w/--maxWorkers): the
// machines have 2 cores and every integration test file gets its own database,
// vhost and key prefix, so files can run side by side.
// SKIP_BUILD=1 skips install and build for a quick re-run.
// Lint (eslint.config.mjs: typescript-eslint plus the layer boundaries) runs after the
// build and before jest, so a boundary broken fails fast; SKIP_LINT=1 skips it.
import { spawn } from "node:child_process";
import { join } from "node:path";
import { build } from "./build.mjs";
import { elapsed, ensureDeps, isMain, root, runOrDie, say } from "./lib/workspace.mjs";
import { ensureTools } from "./lib/tools.mjs";

if (isMain(import.meta.url)) {
  const args = process.argv.slice(2);
  if (!process.env.SKIP_BUILD) {
    await ensureDeps();
    await build();
    ensureTools();
  }
  if (!process.env.SKIP_LINT) {
    const t0 = Date.now();
    await runOrDie("lint", process.execPath, [join(root, "node_modules", "eslint", "bin", "eslint.js"), "--max-warnings=0", "."], { cwd: root });
    say(`lint: clean in ${elapsed(t0)}`);
  }
  const choosesWorkers = args.some((a) => /^(-i|--runInBand|-w|--maxWorkers)(=|$)/.test(a));
  const jestArgs = [join(root, "node_modules", "jest", "bin", "jest.js"), ...(choosesWorkers ? [] : ["--maxWorkers=2"]), ...args];
  say(`jest ${jestArgs.slice(1).join(" ")}`);
  const child = spawn(process.execPath, jestArgs, { cwd: root, stdio: "inherit", env: { ...process.env, NODE_ENV: process.env.NODE_ENV || "test" } });
  // Jest shares our terminal process group, so Ctrl-C already reaches it; a SIGTERM
  // sent to us alone (CI timeout) is passed on.
  process.on("SIGTERM", () => child.kill("SIGTERM"));
  process.on("SIGINT", () => {});
  child.on("exit", (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}
