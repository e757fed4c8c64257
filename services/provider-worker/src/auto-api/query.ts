import { AppError } from "@pragma/errors";
import type { Column, Dialect, Table } from "./model";
import { badValue, toParam } from "./values";

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 1000;

/** Query keys that are not filters (a column of one of these names cannot be filtered). */
const RESERVED = new Set(["select", "order", "limit", "offset", "count", "all", "set", "return"]);

export type Condition =
  | { col: Column; op: "eq" | "ne" | "lt" | "gt" | "le" | "ge"; value: unknown }
  | { col: Column; op: "bw"; low: unknown; high: unknown }
  | { col: Column; op: "in" | "nin"; values: unknown[] }
  | { col: Column; op: "li" | "rli"; pattern: string }
  | { col: Column; op: "is"; null: boolean };

export interface Parsed {
  filters: Condition[];
  select: Column[];
  order: { col: Column; desc: boolean }[];
  limit: number;
  offset: number;
  count: boolean;
  all: boolean;
  returnRows: boolean;
  /** `set=column.value` pairs (PUT), in order. */
  set: [Column, string][];
}

/** A name the request used that the schema lacks; the caller re-reads the schema once before answering 422. */
export class UnknownColumn extends Error {
  constructor(
    readonly column: string,
    readonly loc: (string | number)[],
  ) {
    super(`unknown column: ${column}`);
  }
}

export function column(table: Table, name: string, loc: (string | number)[]): Column {
  const c = table.byName.get(name);
  if (!c) throw new UnknownColumn(name, loc);
  return c;
}

function intParam(value: string, name: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw badValue(["query", name], `${name} must be a non-negative integer`);
  const n = Number(value);
  if (n < min || n > max) throw badValue(["query", name], `${name} must be between ${min} and ${max}`);
  return n;
}

const OPS = new Set(["eq", "ne", "lt", "gt", "le", "ge", "bw", "in", "nin", "li", "rli", "is"]);

/**
 * `%`, `_` and the escape itself lose their LIKE meaning: li/rli match the text as written.
 * The escape is `!` (sql.ts says `ESCAPE '!'`), not the default backslash, whose meaning
 * in a MySQL literal depends on the session's sql_mode (NO_BACKSLASH_ESCAPES).
 */
export function likeEscape(s: string): string {
  return s.replace(/[!%_]/g, (m) => `!${m}`);
}

function splitBetween(rest: string, loc: (string | number)[]): [string, string] {
  // bw.low,high is unambiguous; bw.low.high only when neither bound has a dot.
  if (rest.includes(",")) {
    const parts = rest.split(",");
    if (parts.length === 2) return [parts[0]!, parts[1]!];
  } else {
    const parts = rest.split(".");
    if (parts.length === 2) return [parts[0]!, parts[1]!];
  }
  throw badValue(loc, "bw takes two bounds: bw.low.high (or bw.low,high when a bound has a dot)");
}

function condition(col: Column, raw: string, dialect: Dialect, loc: (string | number)[]): Condition {
  const dot = raw.indexOf(".");
  const op = dot < 0 ? raw : raw.slice(0, dot);
  const rest = dot < 0 ? "" : raw.slice(dot + 1);
  if (!OPS.has(op) || (dot < 0 && op !== "is")) {
    throw badValue(loc, `${col.name}: expected op.value with op one of eq ne lt gt le ge bw in nin li rli is (got ${JSON.stringify(raw.slice(0, 40))})`);
  }
  if (op === "is") {
    if (rest !== "null" && rest !== "notnull") throw badValue(loc, `${col.name}: is takes null or notnull`);
    return { col, op: "is", null: rest === "null" };
  }
  if (!col.comparable || col.family === "array") throw badValue(loc, `${col.name}: a ${col.type} column can only be filtered with is.null / is.notnull`);
  const bind = (v: string) => toParam(col, v, dialect, loc, true);
  switch (op) {
    case "bw": {
      const [lo, hi] = splitBetween(rest, loc);
      return { col, op: "bw", low: bind(lo), high: bind(hi) };
    }
    case "in":
    case "nin": {
      const values = rest.split(",");
      if (rest === "" || values.length > 1000) throw badValue(loc, `${col.name}: ${op} takes 1 to 1000 comma-separated values`);
      return { col, op, values: values.map(bind) };
    }
    case "li":
    case "rli":
      if (col.family !== "text") throw badValue(loc, `${col.name}: ${op} applies to text columns only (column type ${col.type})`);
      return { col, op, pattern: op === "li" ? `%${likeEscape(rest)}%` : `${likeEscape(rest)}%` };
    default:
      return { col, op: op as "eq", value: bind(rest) };
  }
}

/** Parses a request's query pairs against the table (identifiers only from the schema, values checked per column). */
export function parseQuery(table: Table, pairs: [string, string][], dialect: Dialect): Parsed {
  const p: Parsed = { filters: [], select: table.columns, order: [], limit: DEFAULT_LIMIT, offset: 0, count: false, all: false, returnRows: false, set: [] };
  for (const [key, value] of pairs) {
    const loc = ["query", key];
    switch (key) {
      case "select": {
        const names = value.split(",").map((s) => s.trim()).filter(Boolean);
        if (names.length === 0) throw badValue(loc, "select names at least one column");
        p.select = [...new Set(names)].map((n) => column(table, n, loc));
        break;
      }
      case "order":
        for (const part of value.split(",").map((s) => s.trim()).filter(Boolean)) {
          const m = /^(.*?)(?:\.(asc|desc))?$/i.exec(part)!;
          p.order.push({ col: column(table, m[1]!, loc), desc: (m[2] ?? "asc").toLowerCase() === "desc" });
        }
        break;
      case "limit":
        p.limit = intParam(value, "limit", 0, MAX_LIMIT);
        break;
      case "offset":
        p.offset = intParam(value, "offset", 0, Number.MAX_SAFE_INTEGER);
        break;
      case "count":
        if (value !== "exact") throw badValue(loc, "count takes exact");
        p.count = true;
        break;
      case "all":
        if (!["true", "false", "1", "0"].includes(value)) throw badValue(loc, "all takes true or false");
        p.all = value === "true" || value === "1";
        break;
      case "return":
        if (value !== "rows" && value !== "count") throw badValue(loc, "return takes rows (or count, the default)");
        p.returnRows = value === "rows";
        break;
      case "set": {
        const dot = value.indexOf(".");
        if (dot <= 0) throw badValue(loc, "set takes column.value");
        p.set.push([column(table, value.slice(0, dot), loc), value.slice(dot + 1)]);
        break;
      }
      default:
        if (RESERVED.has(key)) break;
        p.filters.push(condition(column(table, key, ["query", key]), value, dialect, loc));
    }
  }
  return p;
}

/** Rejects writes to views with the message a caller can act on. */
export function assertWritable(table: Table): void {
  if (table.view) throw new AppError("METHOD_NOT_ALLOWED", `${table.name} is a view: it can be read, not written`);
}
