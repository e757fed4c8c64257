import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time per process group from /proc (Linux), so a run can say where each resource's
 * CPU went: the machine is CPU-bound, and "ms of CPU per resource" moves far less from run
 * to run than resources/s. Elsewhere there is no /proc and the figure is simply absent.
 */
const GROUPS: [string, (cmd: string) => boolean][] = [
  ["postgres", (c) => /^postgres[: ]/.test(c) || c.includes("/postgres ")],
  ["rabbitmq", (c) => c.includes("beam.smp")],
  ["redis", (c) => c.startsWith("redis-server")],
  ["gateway", (c) => c.includes("services/gateway/dist/main.js")],
  ["resource-store", (c) => c.includes("services/resource-store/dist/main.js")],
  ["provider-worker", (c) => c.includes("services/provider-worker/dist/main.js")],
  ["registry", (c) => c.includes("services/registry/dist/main.js")],
  // The dev runner (`npm start`): it relays every service's output, so its CPU is part of what a line of log costs.
  ["runner", (c) => c.includes("scripts/start.mjs")],
];

export type CpuSnapshot = Map<string, { group: string; ticks: number }> | null;

export function cpuSnapshot(): CpuSnapshot {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return null;
  }
  const out = new Map<string, { group: string; ticks: number }>();
  for (const pid of pids) {
    try {
      const group = pid === String(process.pid) ? "bench" : GROUPS.find(([, match]) => match(cmdline(pid)))?.[0];
      if (group) out.set(pid, { group, ticks: ticksOf(pid) });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** A snapshot of the processes named (pid → group), for benches that choose which processes count; those gone are left out. */
export function snapshotOf(pids: ReadonlyMap<string, string>): CpuSnapshot {
  const out = new Map<string, { group: string; ticks: number }>();
  for (const [pid, group] of pids) {
    try {
      out.set(pid, { group, ticks: ticksOf(pid) });
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** CPU per item of the processes named (pid → group) while `work` does `items` items (cpuMsPerItem), with its result and wall time. */
export async function cpuPerItem<T>(pids: ReadonlyMap<string, string>, items: number, work: () => Promise<T>): Promise<{ result: T; secs: number; perItem: Record<string, number> | null }> {
  const before = snapshotOf(pids);
  const t0 = performance.now();
  const result = await work();
  const secs = (performance.now() - t0) / 1000;
  return { result, secs, perItem: cpuMsPerItem(before, snapshotOf(pids), items) };
}

/** A process and its descendants, all as `group` (tsx runs a bench server in a child of its own). */
export function processTree(root: string, group: string): Map<string, string> {
  const kids = new Map<string, string[]>();
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      const ppid = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]!;
      kids.set(ppid, [...(kids.get(ppid) ?? []), pid]);
    } catch {
      // the process ended meanwhile
    }
  }
  const out = new Map<string, string>();
  const walk = (p: string) => {
    out.set(p, group);
    for (const k of kids.get(p) ?? []) walk(k);
  };
  walk(root);
  return out;
}

/** The processes of one of the groups above (e.g. "rabbitmq"), as pid → group. */
export function processesOf(group: string): Map<string, string> {
  const match = GROUPS.find(([g]) => g === group)?.[1];
  const out = new Map<string, string>();
  if (!match) throw new Error(`no process group ${group}`);
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      if (match(cmdline(pid))) out.set(pid, group);
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

function cmdline(pid: string): string {
  return readFileSync(`/proc/${pid}/cmdline`, "latin1").replace(/\0/g, " ").trim();
}

/** utime + stime of `pid`, in clock ticks; throws when it has ended. */
function ticksOf(pid: string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(fields[11]) + Number(fields[12]);
}

/** ms of CPU per item by group between two snapshots (processes that started in between count from zero). */
export function cpuMsPerItem(before: CpuSnapshot, after: CpuSnapshot, items: number): Record<string, number> | null {
  if (!before || !after || items <= 0) return null;
  const TICKS_PER_SECOND = 100; // USER_HZ on Linux
  const byGroup: Record<string, number> = {};
  for (const [pid, a] of after) byGroup[a.group] = (byGroup[a.group] ?? 0) + a.ticks - (before.get(pid)?.ticks ?? 0);
  const out: Record<string, number> = {};
  let total = 0;
  for (const [group, ticks] of Object.entries(byGroup).sort((x, y) => y[1] - x[1])) {
    const ms = (ticks * 1000) / TICKS_PER_SECOND / items;
    out[group] = Math.round(ms * 1000) / 1000;
    total += ms;
  }
  out.total = Math.round(total * 1000) / 1000;
  return out;
}

/** "gateway 0.41 · worker 0.43 = 0.84" (ms per item), or with `micros` "gateway 410 · worker 430 = 840" (µs per item). */
export function formatCpu(perItem: Record<string, number> | null, micros = false): string {
  if (!perItem) return "n/a (no /proc)";
  const { total, ...groups } = perItem;
  const show = (ms: number) => (micros ? (ms * 1000).toFixed(0) : ms.toFixed(2));
  return `${Object.entries(groups)
    .map(([g, ms]) => `${g} ${show(ms)}`)
    .join(" · ")} = ${show(total!)}`;
}

/** Gateway processes serving requests now: with GATEWAY_PROCESSES > 1 one more process only forks them (services/gateway/src/main.ts). */
export function gatewayProcesses(): number | null {
  const snap = cpuSnapshot();
  if (!snap) return null;
  const n = [...snap.values()].filter((p) => p.group === "gateway").length;
  return n > 1 ? n - 1 : n;
}
