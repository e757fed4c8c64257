// Summarises V8 .cpuprofile files (node --cpu-prof): per process, the top functions by
// self time and the top source files, with paths shortened to the workspace.
//   pnpm --filter @pragma/bench profile <dir> [--top 15]
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const dir = process.argv[2];
const topN = Number(process.argv[process.argv.indexOf("--top") + 1]) || 15;
if (!dir) throw new Error("usage: profile-summary <dir-with-.cpuprofile-files> [--top N]");

function short(url: string): string {
  if (!url) return "(native)";
  const u = url.replace(/^file:\/\//, "");
  const pnpmIdx = u.lastIndexOf("/node_modules/");
  if (pnpmIdx >= 0) return `npm:${u.slice(pnpmIdx + "/node_modules/".length)}`;
  const m = /\/(services|packages|bench)\/(.*)$/.exec(u);
  if (m) return `${m[1]}/${m[2]}`;
  return u.replace(/^node:/, "node:");
}

/** Which process a profile belongs to: the script its main module ran. */
function processName(p: Profile): string {
  const urls = new Set(p.nodes.map((n) => n.callFrame.url));
  for (const s of ["gateway", "registry", "resource-store", "provider-worker"]) if ([...urls].some((u) => u.includes(`/services/${s}/dist/`))) return s;
  if ([...urls].some((u) => u.includes("reference-server"))) return "bench reference (express + pg-boss)";
  if ([...urls].some((u) => u.includes("scripts/start.mjs"))) return "start.mjs";
  return "other";
}

for (const f of readdirSync(dir).filter((f) => f.endsWith(".cpuprofile")).sort()) {
  const p = JSON.parse(readFileSync(join(dir, f), "utf8")) as Profile;
  const self = new Map<number, number>();
  p.samples.forEach((id, i) => self.set(id, (self.get(id) ?? 0) + (p.timeDeltas[i] ?? 0)));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const idle = [...self.entries()].filter(([id]) => ["(idle)", "(program)"].includes(byId.get(id)!.callFrame.functionName)).reduce((a, [, t]) => a + t, 0);
  const fn = new Map<string, number>();
  const file = new Map<string, number>();
  for (const [id, t] of self) {
    const n = byId.get(id)!;
    const name = n.callFrame.functionName || "(anonymous)";
    if (name === "(idle)") continue;
    const key = `${short(n.callFrame.url)}:${n.callFrame.lineNumber + 1} ${name}`;
    fn.set(key, (fn.get(key) ?? 0) + t);
    const fk = short(n.callFrame.url).replace(/^npm:(\.pnpm\/[^/]+\/node_modules\/)?((@[^/]+\/)?[^/]+).*$/, "npm:$2");
    file.set(fk, (file.get(fk) ?? 0) + t);
  }
  const busy = total - (self.get([...byId.values()].find((n) => n.callFrame.functionName === "(idle)")?.id ?? -1) ?? 0);
  const pct = (t: number) => `${((t / busy) * 100).toFixed(1)}%`;
  const wall = (p.endTime - p.startTime) / 1e6;
  console.log(`\n## ${processName(p)} (${f}): ${wall.toFixed(1)} s profiled, ${(busy / 1e6).toFixed(1)} s on CPU (${((busy / 1e6 / wall) * 100).toFixed(0)}% of one core; program/GC ${pct(idle)})`);
  console.log("\nTop functions by self time (share of CPU time):");
  for (const [k, t] of [...fn.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN)) console.log(`  ${pct(t).padStart(6)}  ${k}`);
  console.log("\nBy file / package:");
  for (const [k, t] of [...file.entries()].sort((a, b) => b[1] - a[1]).slice(0, topN)) console.log(`  ${pct(t).padStart(6)}  ${k}`);
}
