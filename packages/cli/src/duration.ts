import { UsageError } from "./errors";

/** "300", "300s", "5m", "1h" → milliseconds; a bare number means seconds (the --timeout unit). */
export function parseDuration(value: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(value.trim());
  if (!m) throw new UsageError(`invalid duration "${value}"`, "use seconds (300) or a unit: 300s, 5m, 1h");
  const n = Number(m[1]);
  const unit = m[2] ?? "s";
  const factor = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit]!;
  return n * factor;
}
