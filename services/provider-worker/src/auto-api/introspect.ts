import { createHash } from "node:crypto";
import type { DriverPool } from "../data/databases";
import { makeTable, type Column, type Dialect, type Family, type Schema, type Table } from "./model";

/**
 * Reads the exposed schema's tables, views and columns: PostgreSQL's `public` schema,
 * MySQL/MariaDB's connected database. System schemas (pg_catalog, information_schema,
 * mysql, performance_schema, sys) are never read, so they can never be addressed.
 */
export async function introspect(driver: DriverPool): Promise<Schema> {
  return driver.kind === "postgres" ? introspectPostgres(driver.pool) : introspectMysql(driver.pool);
}

const PG_COLUMNS = `
SELECT c.relname AS table_name, c.relkind AS kind, a.attname AS column_name,
       pg_catalog.format_type(a.atttypid, a.atttypmod) AS data_type, t.typname AS udt, t.typcategory AS category,
       NOT a.attnotnull AS nullable, pg_catalog.pg_get_expr(d.adbin, d.adrelid) AS column_default,
       array_position(i.indkey::int2[], a.attnum) AS pk_position
  FROM pg_catalog.pg_class c
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
  JOIN pg_catalog.pg_type t ON t.oid = a.atttypid
  LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = c.oid AND d.adnum = a.attnum
  LEFT JOIN pg_catalog.pg_index i ON i.indrelid = c.oid AND i.indisprimary
 WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
 ORDER BY c.relname, a.attnum`;

function pgFamily(udt: string, category: string): Family {
  if (category === "A") return "array";
  switch (udt) {
    case "int2":
    case "int4":
      return "integer";
    case "int8":
      return "bigint";
    case "numeric":
    case "money":
      return "decimal";
    case "float4":
    case "float8":
      return "float";
    case "bool":
      return "boolean";
    case "json":
    case "jsonb":
      return "json";
    case "timestamp":
    case "timestamptz":
      return "timestamp";
    case "date":
      return "date";
    case "time":
    case "timetz":
      return "time";
    case "bytea":
      return "binary";
    case "uuid":
      return "uuid";
    default:
      return "text";
  }
}

interface PgRow {
  table_name: string;
  kind: string;
  column_name: string;
  data_type: string;
  udt: string;
  category: string;
  nullable: boolean;
  column_default: string | null;
  pk_position: number | null;
}

async function introspectPostgres(pool: import("pg").Pool): Promise<Schema> {
  const { rows } = await pool.query<PgRow>(PG_COLUMNS);
  const grouped = new Map<string, { view: boolean; columns: Column[]; pk: [number, string][] }>();
  for (const r of rows) {
    let t = grouped.get(r.table_name);
    if (!t) grouped.set(r.table_name, (t = { view: r.kind === "v" || r.kind === "m", columns: [], pk: [] }));
    const family = pgFamily(r.udt, r.category);
    t.columns.push({ name: r.column_name, type: r.data_type, nullable: r.nullable, default: r.column_default, primary_key: r.pk_position !== null, family, comparable: family !== "json" || r.udt === "jsonb" });
    if (r.pk_position !== null) t.pk.push([r.pk_position, r.column_name]);
  }
  return build("postgres", grouped, rows);
}

const MY_COLUMNS = `
SELECT c.TABLE_NAME AS table_name, t.TABLE_TYPE AS table_type, c.COLUMN_NAME AS column_name,
       c.DATA_TYPE AS data_type, c.COLUMN_TYPE AS column_type, c.IS_NULLABLE AS is_nullable,
       c.COLUMN_DEFAULT AS column_default, c.COLUMN_KEY AS column_key, c.EXTRA AS extra
  FROM information_schema.COLUMNS c
  JOIN information_schema.TABLES t ON t.TABLE_SCHEMA = c.TABLE_SCHEMA AND t.TABLE_NAME = c.TABLE_NAME
 WHERE c.TABLE_SCHEMA = DATABASE()
 ORDER BY c.TABLE_NAME, c.ORDINAL_POSITION`;
const MY_PK = `
SELECT TABLE_NAME AS table_name, COLUMN_NAME AS column_name, ORDINAL_POSITION AS pos
  FROM information_schema.KEY_COLUMN_USAGE
 WHERE TABLE_SCHEMA = DATABASE() AND CONSTRAINT_NAME = 'PRIMARY'`;
// MariaDB's JSON is LONGTEXT with a json_valid() check; the check is how we know to parse it.
const MARIADB_JSON = `
SELECT TABLE_NAME AS table_name, CHECK_CLAUSE AS clause
  FROM information_schema.CHECK_CONSTRAINTS
 WHERE CONSTRAINT_SCHEMA = DATABASE() AND CHECK_CLAUSE LIKE 'json_valid(%'`;

function mysqlFamily(dataType: string, columnType: string): Family {
  const t = dataType.toLowerCase();
  if (/^tinyint\(1\)/i.test(columnType)) return "boolean";
  if (["tinyint", "smallint", "mediumint", "int", "integer", "year"].includes(t)) return "integer";
  if (t === "bigint") return "bigint";
  if (t === "decimal" || t === "numeric") return "decimal";
  if (t === "float" || t === "double" || t === "real") return "float";
  if (t === "bool" || t === "boolean") return "boolean";
  if (t === "json") return "json";
  if (t === "datetime" || t === "timestamp") return "timestamp";
  if (t === "date") return "date";
  if (t === "time") return "time";
  if (["binary", "varbinary", "tinyblob", "blob", "mediumblob", "longblob", "bit"].includes(t)) return "binary";
  return "text";
}

interface MyRow {
  table_name: string;
  table_type: string;
  column_name: string;
  data_type: string;
  column_type: string;
  is_nullable: string;
  column_default: string | null;
  column_key: string;
  extra: string;
}

async function introspectMysql(pool: import("mysql2/promise").Pool): Promise<Schema> {
  const [versionRows] = (await pool.query("SELECT VERSION() AS v")) as unknown as [{ v: string }[]];
  const dialect: Dialect = /mariadb/i.test(versionRows[0]?.v ?? "") ? "mariadb" : "mysql";
  const [[cols], [pks], jsonChecks] = await Promise.all([
    pool.query(MY_COLUMNS) as unknown as Promise<[MyRow[]]>,
    pool.query(MY_PK) as unknown as Promise<[{ table_name: string; column_name: string; pos: number }[]]>,
    dialect === "mariadb" ? (pool.query(MARIADB_JSON) as unknown as Promise<[{ table_name: string; clause: string }[]]>).then(([r]) => r) : Promise.resolve([]),
  ]);
  const jsonCols = new Set(jsonChecks.map((j) => `${j.table_name}\u0000${/json_valid\(`?([^`)]+)`?\)/i.exec(j.clause)?.[1] ?? ""}`));
  const grouped = new Map<string, { view: boolean; columns: Column[]; pk: [number, string][] }>();
  for (const r of cols) {
    let t = grouped.get(r.table_name);
    if (!t) grouped.set(r.table_name, (t = { view: r.table_type !== "BASE TABLE", columns: [], pk: [] }));
    const family = jsonCols.has(`${r.table_name}\u0000${r.column_name}`) ? "json" : mysqlFamily(r.data_type, r.column_type);
    // MariaDB reports a default as an SQL expression ('text' quoted, NULL as the word); MySQL as the bare value.
    const def = r.column_default === null || r.column_default === "NULL" ? null : r.column_default;
    t.columns.push({ name: r.column_name, type: family === "json" ? "json" : r.column_type, nullable: r.is_nullable === "YES", default: def, primary_key: r.column_key === "PRI", family, comparable: family !== "json" });
  }
  for (const p of pks) grouped.get(p.table_name)?.pk.push([p.pos, p.column_name]);
  return build(dialect, grouped, cols);
}

function build(dialect: Dialect, grouped: Map<string, { view: boolean; columns: Column[]; pk: [number, string][] }>, raw: unknown[]): Schema {
  const tables = new Map<string, Table>();
  for (const [name, t] of grouped) {
    const pk = t.pk.sort((a, b) => a[0] - b[0]).map(([, n]) => n);
    tables.set(name, makeTable(name, t.view, t.columns, pk));
  }
  const digest = createHash("sha1").update(JSON.stringify(raw)).digest("hex");
  return { dialect, tables, digest };
}
