import type { AutoColumn } from "@pragma/contracts";

/**
 * How a column's values cross JSON: the family decides how a request's value is checked
 * and bound, and how the driver's value is written back.
 * - bigint and decimal travel as strings (no precision lost in JSON numbers);
 * - binary as base64; timestamps as ISO 8601 UTC; json as JSON.
 */
export type Family = "integer" | "bigint" | "decimal" | "float" | "boolean" | "json" | "timestamp" | "date" | "time" | "binary" | "uuid" | "array" | "text";

export interface Column extends AutoColumn {
  family: Family;
  /** jsonb (PostgreSQL) compares with =; json does not. */
  comparable: boolean;
}

export interface Table {
  name: string;
  view: boolean;
  columns: Column[];
  byName: Map<string, Column>;
  /** Primary key columns in key order. */
  primaryKey: Column[];
}

export type Dialect = "postgres" | "mariadb" | "mysql";

export interface Schema {
  dialect: Dialect;
  tables: Map<string, Table>;
  /** A digest of the introspected catalogue; a change means a new schema. */
  digest: string;
}

export function makeTable(name: string, view: boolean, columns: Column[], pkOrder: string[]): Table {
  const byName = new Map(columns.map((c) => [c.name, c]));
  const primaryKey = pkOrder.map((n) => byName.get(n)).filter((c): c is Column => c !== undefined);
  return { name, view, columns, byName, primaryKey };
}
