// CPU time of processes by pid, from /proc (Linux): for the benches that attribute a
// request's CPU to each process that served it (auto-api-cpu.ts, hop-floor.ts).
import { readdirSync, readFileSync } from "node:fs";

export const TICK_MS = 10; // USER_HZ is 100 on Linux

/** utime + stime of `pid`, in clock ticks. */
export function ticks(pid: string): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return Number(f[11]) + Number(f[12]);
}

/** ticks(), or 0 for a process gone meanwhile. */
export function safeTicks(pid: string): number {
  try {
    return ticks(pid);
  } catch {
    return 0;
  }
}

/** A process and its descendants (tsx runs the server in a child of its own). */
export function tree(root: string, label: string): Map<string, string> {
  const kids = new Map<string, string[]>();
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, "latin1");
      const ppid = stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]!;
      kids.set(ppid, [...(kids.get(ppid) ?? []), pid]);
    } catch {
      // gone
    }
  }
  const out = new Map<string, string>();
  const walk = (p: string) => {
    out.set(p, label);
    for (const k of kids.get(p) ?? []) walk(k);
  };
  walk(root);
  return out;
}

/** RabbitMQ's process (the Erlang VM running rabbit). */
export function broker(): Map<string, string> {
  const out = new Map<string, string>();
  for (const pid of readdirSync("/proc").filter((p) => /^\d+$/.test(p))) {
    try {
      const cmd = readFileSync(`/proc/${pid}/cmdline`, "latin1");
      if (cmd.includes("beam.smp") && cmd.includes("rabbit")) out.set(pid, "rabbitmq");
    } catch {
      // gone
    }
  }
  return out;
}


/** CPU µs per item of each group of `pids` (pid → group) while `work` does `items` items, with its result and wall time. */
export async function cpuPerItem<T>(pids: Map<string, string>, items: number, work: () => Promise<T>): Promise<{ result: T; secs: number; per: Record<string, number>; total: number }> {
  const before = new Map([...pids.keys()].map((p) => [p, safeTicks(p)]));
  const t0 = performance.now();
  const result = await work();
  const secs = (performance.now() - t0) / 1000;
  const per: Record<string, number> = {};
  for (const [pid, group] of pids) per[group] = (per[group] ?? 0) + (Math.max(0, safeTicks(pid) - before.get(pid)!) * TICK_MS * 1000) / items;
  return { result, secs, per, total: Object.values(per).reduce((a, b) => a + b, 0) };
}

/** "gateway 410 · worker 430 = 840; load 1.2" */
export function cpuLine(per: Record<string, number>, total: number): string {
  return `${Object.entries(per)
    .map(([k, v]) => `${k} ${v.toFixed(0)}`)
    .join(" · ")} = ${total.toFixed(0)}; load ${readFileSync("/proc/loadavg", "latin1").split(" ")[0]}`;
}
