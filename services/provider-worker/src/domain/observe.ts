import type { Observation } from "@pragma/provider-sdk";

/**
 * What differs between what was applied and what the observe hook saw: field names only
 * (values never leave the worker). A field is compared with the applied config's value,
 * or, where config leaves it open (an owner not given, say), with the outputs recorded
 * when it was applied; a field neither names is not compared. Lists of plain values are
 * compared as sets. A gone object is ["exists"].
 */
export function driftFields(applied: { config: Record<string, unknown>; outputs: Record<string, unknown> | null }, seen: Observation): string[] {
  if (!seen.exists) return ["exists"];
  const out: string[] = [];
  for (const [key, value] of Object.entries(seen.fields)) {
    const expected = applied.config[key] !== undefined ? applied.config[key] : applied.outputs?.[key];
    if (expected === undefined) continue;
    if (canonical(expected) !== canonical(value)) out.push(key);
  }
  return out.sort();
}

function canonical(v: unknown): string {
  if (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object")) return JSON.stringify([...v].map((x) => JSON.stringify(x)).sort());
  if (v && typeof v === "object") return JSON.stringify(Object.fromEntries(Object.entries(v).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, x]) => [k, canonical(x)])));
  return JSON.stringify(v);
}

