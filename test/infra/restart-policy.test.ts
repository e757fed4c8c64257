/**
 * The restart policy of `npm start` (scripts/lib/restart-policy.mjs), decision by decision:
 * the backoff, its reset, the crash-loop limit, and kills from outside not counting. The
 * runner applying it to real processes: test/e2e/runner-*.int.test.ts. The module is ESM
 * (scripts run before any build), so a child node evaluates it and prints its decisions.
 */
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const POLICY = pathToFileURL(join(__dirname, "..", "..", "scripts", "lib", "restart-policy.mjs")).href;

type Exit = { up: number; at: number; signal?: string };
type Decision = { giveUp: boolean; delayMs: number; recent: number };

/** Feeds one tracker the exits (each: started at `at - up`, exited at `at`, ms) and returns what it decided. */
function decide(exits: Exit[]): Decision[] {
  const script = `import { RestartTracker } from ${JSON.stringify(POLICY)};
const t = new RestartTracker();
const exits = ${JSON.stringify(exits)};
console.log(JSON.stringify(exits.map((e) => t.onExit(e.at - e.up, e.at, e.signal ?? null))));`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as Decision[];
}

/** Exits `gapMs` apart, each after `upMs` up. */
const series = (n: number, gapMs: number, upMs: number, signal?: string): Exit[] => Array.from({ length: n }, (_, i) => ({ up: upMs, at: 1_000_000 + i * gapMs, ...(signal ? { signal } : {}) }));

it("backs off 0.5 s doubling to 30 s for a service that keeps crashing, and never gives up while crashes stay under 5 a minute", () => {
  const d = decide(series(9, 20_000, 15_000)); // a crash every 20 s: at most 3 within any 60 s
  expect(d.map((x) => x.delayMs)).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]);
  expect(d.every((x) => !x.giveUp)).toBe(true);
});

it("starts over at 0.5 s once the service stayed up 60 s", () => {
  const d = decide([{ up: 1000, at: 1_000_000 }, { up: 1000, at: 1_002_000 }, { up: 60_000, at: 1_070_000 }]);
  expect(d.map((x) => x.delayMs)).toEqual([500, 1000, 500]);
});

it("gives up at the 5th own crash within 60 s, whatever ended it: an exit code or a crash signal", () => {
  const d = decide([...series(4, 1000, 100), { up: 100, at: 1_004_000, signal: "SIGSEGV" }]);
  expect(d.map((x) => x.giveUp)).toEqual([false, false, false, false, true]);
  expect(d[4]!.recent).toBe(5);
});

it("restarts a service killed from outside however often, with the same backoff, without counting it as a crash loop", () => {
  for (const signal of ["SIGKILL", "SIGTERM", "SIGINT", "SIGHUP"]) {
    const d = decide(series(8, 1000, 100, signal));
    expect(d.every((x) => !x.giveUp)).toBe(true);
    expect(d.map((x) => x.delayMs)).toEqual([500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000]);
  }
  // Kills and own crashes mixed: only the own ones count.
  const mixed = decide([...series(4, 1000, 100, "SIGKILL"), ...series(4, 1000, 100).map((e) => ({ ...e, at: e.at + 4000 }))]);
  expect(mixed.every((x) => !x.giveUp)).toBe(true);
  expect(mixed.at(-1)!.recent).toBe(4);
});
