#!/usr/bin/env node
import { run } from "./cli";
import { processIo } from "./io";

run(process.argv.slice(2), processIo()).then(
  (code) => {
    // exitCode instead of exit(): lets stdout drain when piped.
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`error: ${String(err)}\n`);
    process.exitCode = 1;
  },
);
