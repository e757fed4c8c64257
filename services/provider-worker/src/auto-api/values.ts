import { AppError } from "@pragma/errors";
import type { Column, Dialect } from "./model";

/** 422 naming where the bad value was (`loc` in pragma's list shape). */
export function badValue(loc: (string | number)[], msg: string): AppError {
  return new AppError("VALIDATION_FAILED", [{ loc, msg, type: "value_error" }]);
}

const INT_RE = /^-?\d+$/;
const NUM_RE = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;
const UUID_RE = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const DATE_RE = /^\d{4}-\d{2}-\d{2}$/;
const TS_RE = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?)?(Z|[+-]\d{2}(:?\d{2})?)?$/i;
const TIME_RE = /^\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}(:?\d{2})?)?$/i;
const B64_RE = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * A caller's value for a column, checked against the column's family and turned into what
 * the driver binds. `fromQuery` values are the strings of a query string; body values are
 * JSON. Never returns something the driver would splice: every result is a bound parameter.
 */
export function toParam(col: Column, value: unknown, dialect: Dialect, loc: (string | number)[], fromQuery = false): unknown {
  if (value === null) return null;
  const bad = (what: string) => badValue(loc, `${col.name}: expected ${what} (column type ${col.type})`);
  switch (col.family) {
    case "integer":
    case "bigint": {
      if (typeof value === "number" && Number.isSafeInteger(value)) return col.family === "bigint" ? String(value) : value;
      if (typeof value === "string" && INT_RE.test(value.trim())) {
        const v = value.trim();
        // bigint stays a string all the way: a JSON number would lose digits past 2^53.
        if (col.family === "bigint") return v;
        const n = Number(v);
        if (!Number.isSafeInteger(n)) throw bad("an integer");
        return n;
      }
      throw bad(col.family === "bigint" ? "an integer (a string for values past 2^53)" : "an integer");
    }
    case "decimal":
      if (typeof value === "number" && Number.isFinite(value)) return String(value);
      if (typeof value === "string" && NUM_RE.test(value.trim())) return value.trim();
      throw bad("a number");
    case "float":
      if (typeof value === "number" && Number.isFinite(value)) return value;
      if (typeof value === "string" && NUM_RE.test(value.trim())) return Number(value);
      throw bad("a number");
    case "boolean": {
      let b: boolean | undefined;
      if (typeof value === "boolean") b = value;
      else if (value === 1 || value === 0) b = value === 1;
      else if (typeof value === "string") {
        const v = value.toLowerCase();
        if (["true", "t", "1", "yes"].includes(v)) b = true;
        else if (["false", "f", "0", "no"].includes(v)) b = false;
      }
      if (b === undefined) throw bad("a boolean");
      return dialect === "postgres" ? b : b ? 1 : 0;
    }
    case "json":
      if (fromQuery) {
        try {
          return JSON.stringify(JSON.parse(String(value)));
        } catch {
          throw bad("JSON");
        }
      }
      return JSON.stringify(value);
    case "timestamp": {
      if (typeof value !== "string" || !TS_RE.test(value.trim()) || Number.isNaN(Date.parse(value.trim().replace(" ", "T")))) throw bad("an ISO 8601 timestamp");
      const v = value.trim();
      if (dialect === "postgres") return v;
      // MySQL takes no zone in a literal: write the instant as UTC (the session's time_zone).
      const hasZone = /(Z|[+-]\d{2}(:?\d{2})?)$/i.test(v) && v.length > 10;
      const d = new Date(hasZone ? v.replace(" ", "T") : `${v.replace(" ", "T")}${v.length === 10 ? "T00:00:00" : ""}Z`);
      return d.toISOString().replace("T", " ").replace("Z", "");
    }
    case "date":
      if (typeof value === "string" && DATE_RE.test(value.trim()) && !Number.isNaN(Date.parse(value.trim()))) return value.trim();
      throw bad("a date (YYYY-MM-DD)");
    case "time":
      if (typeof value === "string" && TIME_RE.test(value.trim())) return value.trim();
      throw bad("a time (HH:MM:SS)");
    case "binary": {
      if (typeof value !== "string") throw bad("base64");
      const v = value.trim();
      if (v.length % 4 !== 0 || !B64_RE.test(v)) throw bad("base64");
      return Buffer.from(v, "base64");
    }
    case "uuid":
      if (typeof value === "string" && UUID_RE.test(value.trim())) return value.trim();
      throw bad("a UUID");
    case "array":
      if (Array.isArray(value)) return value;
      throw bad("an array");
    case "text":
      if (typeof value === "string") return value;
      if (typeof value === "number" || typeof value === "boolean") return String(value);
      throw bad("a string");
  }
}

/** A driver row made JSON-exact: binary as base64, timestamps as ISO 8601 UTC, MySQL booleans and MariaDB JSON typed. */
export function fromRow(row: Record<string, unknown>, columns: Map<string, Column>, dialect: Dialect): Record<string, unknown> {
  for (const key of Object.keys(row)) {
    const v = row[key];
    if (v === null || v === undefined) continue;
    const col = columns.get(key);
    if (Buffer.isBuffer(v)) {
      row[key] = v.toString("base64");
    } else if (v instanceof Date) {
      row[key] = Number.isNaN(v.getTime()) ? null : v.toISOString();
    } else if (dialect !== "postgres" && col) {
      if (col.family === "boolean" && typeof v === "number") row[key] = v !== 0;
      else if (col.family === "json" && typeof v === "string") row[key] = parseJson(v);
      else if (col.family === "timestamp" && typeof v === "string") row[key] = mysqlTimestamp(v);
    }
  }
  return row;
}

function parseJson(v: string): unknown {
  try {
    return JSON.parse(v);
  } catch {
    return v;
  }
}

/** '2024-01-02 03:04:05.678' read in the UTC session → '2024-01-02T03:04:05.678Z'; zero dates stay as they are. */
function mysqlTimestamp(v: string): string {
  if (v.startsWith("0000-00-00")) return v;
  const d = new Date(`${v.replace(" ", "T")}Z`);
  return Number.isNaN(d.getTime()) ? v : d.toISOString();
}
