import YAML from "yaml";
import { UsageError } from "./errors";

export const OUTPUT_FORMATS = ["table", "json", "yaml"] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

export function parseFormat(value: string | undefined): OutputFormat {
  const v = (value ?? "table").toLowerCase();
  if ((OUTPUT_FORMATS as readonly string[]).includes(v)) return v as OutputFormat;
  throw new UsageError(`unknown output format "${value}"`, `use one of: ${OUTPUT_FORMATS.join(", ")}`);
}

export interface Column<T> {
  header: string;
  value: (row: T) => unknown;
}

/** One cell: tables are for eyes, so nested values are compacted and nothing is ever "undefined". */
export function cell(value: unknown): string {
  if (value === undefined || value === null || value === "") return "-";
  if (Array.isArray(value)) return value.length ? value.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(",") : "-";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value).replace(/\s*\n\s*/g, " ");
}

export function renderTable<T>(rows: readonly T[], columns: readonly Column<T>[]): string {
  const matrix = rows.map((row) => columns.map((c) => cell(c.value(row))));
  const headers = columns.map((c) => c.header.toUpperCase());
  const widths = headers.map((h, i) => Math.max(h.length, ...matrix.map((r) => r[i]!.length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  return [line(headers), ...matrix.map(line)].join("\n") + "\n";
}

/** A single object as aligned "key: value" lines (for get/show/whoami in table mode). */
export function renderKeyValues(entries: readonly [string, unknown][]): string {
  const width = Math.max(0, ...entries.map(([k]) => k.length));
  return entries.map(([k, v]) => `${(k + ":").padEnd(width + 1)} ${cell(v)}`.trimEnd()).join("\n") + "\n";
}

export function renderData(data: unknown, format: Exclude<OutputFormat, "table">): string {
  if (format === "json") return JSON.stringify(data ?? null, null, 2) + "\n";
  return YAML.stringify(data ?? null);
}

/** json/yaml print the API's data untouched (stable for scripts); table uses the given view. */
export function render<T>(data: T, format: OutputFormat, table: (data: T) => string): string {
  return format === "table" ? table(data) : renderData(data, format);
}
