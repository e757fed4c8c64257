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
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "latin1").replace(/\0/g, " ").trim();
      const group = pid === String(process.pid) ? "bench" : GROUPS.find(([, match]) => match(cmd))?.[0];
      if (!group) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      out.set(pid, { group, ticks: Number(fields[11]) + Number(fields[12]) }); // utime + stime
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
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

export function formatCpu(perItem: Record<string, number> | null): string {
  if (!perItem) return "n/a (no /proc)";
  const { total, ...groups } = perItem;
  return `${Object.entries(groups)
    .map(([g, ms]) => `${g} ${ms.toFixed(2)}`)
    .join(" · ")} = ${total!.toFixed(2)}`;
}

/** Gateway processes serving requests now: with GATEWAY_PROCESSES > 1 one more process only forks them (services/gateway/src/main.ts). */
export function gatewayProcesses(): number | null {
  const snap = cpuSnapshot();
  if (!snap) return null;
  const n = [...snap.values()].filter((p) => p.group === "gateway").length;
  return n > 1 ? n - 1 : n;
}
