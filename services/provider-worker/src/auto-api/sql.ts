import type { Column, Dialect, Table } from "./model";
import type { Condition, Parsed } from "./query";

/**
 * SQL text from introspected identifiers only (quoted by the dialect's rule) and
 * placeholders for every value; the values go to the driver as bound parameters.
 */
export class Sql {
  readonly params: unknown[] = [];

  constructor(readonly dialect: Dialect) {}

  ident(name: string): string {
    return this.dialect === "postgres" ? `"${name.replace(/"/g, '""')}"` : `\`${name.replace(/`/g, "``")}\``;
  }

  bind(value: unknown): string {
    this.params.push(value);
    return this.dialect === "postgres" ? `$${this.params.length}` : "?";
  }

  /** PostgreSQL infers a parameter's type from its use; jsonb = $n needs the cast. */
  private typed(col: Column, value: unknown): string {
    const p = this.bind(value);
    return this.dialect === "postgres" && col.family === "json" ? `${p}::jsonb` : p;
  }

  condition(c: Condition): string {
    const id = this.ident(c.col.name);
    switch (c.op) {
      case "eq":
        return `${id} = ${this.typed(c.col, c.value)}`;
      case "ne":
        return `${id} <> ${this.typed(c.col, c.value)}`;
      case "lt":
        return `${id} < ${this.bind(c.value)}`;
      case "gt":
        return `${id} > ${this.bind(c.value)}`;
      case "le":
        return `${id} <= ${this.bind(c.value)}`;
      case "ge":
        return `${id} >= ${this.bind(c.value)}`;
      case "bw":
        return `${id} BETWEEN ${this.bind(c.low)} AND ${this.bind(c.high)}`;
      case "in":
        return `${id} IN (${c.values.map((v) => this.typed(c.col, v)).join(", ")})`;
      case "nin":
        return `${id} NOT IN (${c.values.map((v) => this.typed(c.col, v)).join(", ")})`;
      case "li":
      case "rli":
        return `${id} LIKE ${this.bind(c.pattern)} ESCAPE '!'`;
      case "is":
        return `${id} IS ${c.null ? "" : "NOT "}NULL`;
    }
  }

  where(filters: Condition[]): string {
    return filters.length === 0 ? "" : ` WHERE ${filters.map((f) => this.condition(f)).join(" AND ")}`;
  }

  columns(cols: Column[]): string {
    return cols.map((c) => this.ident(c.name)).join(", ");
  }
}

export function selectSql(dialect: Dialect, table: Table, q: Parsed): { text: string; params: unknown[] } {
  const s = new Sql(dialect);
  let text = `SELECT ${s.columns(q.select)} FROM ${s.ident(table.name)}${s.where(q.filters)}`;
  if (q.order.length > 0) text += ` ORDER BY ${q.order.map((o) => `${s.ident(o.col.name)} ${o.desc ? "DESC" : "ASC"}`).join(", ")}`;
  // Integers we parsed ourselves; inlined, since MySQL's prepared LIMIT ? is picky about types.
  text += ` LIMIT ${q.limit}`;
  if (q.offset > 0) text += ` OFFSET ${q.offset}`;
  return { text, params: s.params };
}

export function countSql(dialect: Dialect, table: Table, q: Parsed): { text: string; params: unknown[] } {
  const s = new Sql(dialect);
  return { text: `SELECT COUNT(*) AS total FROM ${s.ident(table.name)}${s.where(q.filters)}`, params: s.params };
}

/** One multi-row INSERT; a column a row leaves out takes its DEFAULT. */
export function insertSql(dialect: Dialect, table: Table, cols: Column[], rows: Map<string, unknown>[], returning: Column[] | null): { text: string; params: unknown[] } {
  const s = new Sql(dialect);
  const values = rows.map((r) => `(${cols.map((c) => (r.has(c.name) ? (dialect === "postgres" && c.family === "json" ? `${s.bind(r.get(c.name))}::${c.type === "jsonb" ? "jsonb" : "json"}` : s.bind(r.get(c.name))) : "DEFAULT")).join(", ")})`);
  let text = cols.length === 0 && dialect === "postgres" ? `INSERT INTO ${s.ident(table.name)} DEFAULT VALUES` : `INSERT INTO ${s.ident(table.name)} (${s.columns(cols)}) VALUES ${values.join(", ")}`;
  if (returning) text += ` RETURNING ${s.columns(returning)}`;
  return { text, params: s.params };
}

export function updateSql(dialect: Dialect, table: Table, set: [Column, unknown][], q: Parsed): { text: string; params: unknown[] } {
  const s = new Sql(dialect);
  const assignments = set.map(([c, v]) => `${s.ident(c.name)} = ${dialect === "postgres" && c.family === "json" ? `${s.bind(v)}::${c.type === "jsonb" ? "jsonb" : "json"}` : s.bind(v)}`).join(", ");
  return { text: `UPDATE ${s.ident(table.name)} SET ${assignments}${s.where(q.filters)}`, params: s.params };
}

export function deleteSql(dialect: Dialect, table: Table, q: Parsed): { text: string; params: unknown[] } {
  const s = new Sql(dialect);
  return { text: `DELETE FROM ${s.ident(table.name)}${s.where(q.filters)}`, params: s.params };
}
