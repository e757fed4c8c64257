import { AppError } from "@pragma/errors";
import { PermanentError, RetryableError } from "@pragma/provider-sdk";
import type { AutoDbType, AutoSchema } from "@pragma/contracts";
import type { DriverPool } from "../data/databases";
import { mapDbError, SchemaDrift } from "./errors";
import { PG_TYPES, runRawPostgres, withRunner } from "./executor";
import { pgRowsJson } from "./pg-json";
import type { Column, Schema, Table } from "./model";
import { openApiDocument } from "./openapi";
import { assertWritable, column, parseQuery, UnknownColumn, type Parsed } from "./query";
import type { SchemaCache } from "./schema-cache";
import { countSql, deleteSql, insertSql, selectSql, updateSql } from "./sql";
import { badValue, fromRow, toParam } from "./values";

export interface AutoApiDeps {
  pools: { registered(scope: { orgId: string; projectId: string }, dbType: AutoDbType, dbName: string): Promise<{ key: string; driver: DriverPool } | undefined> };
  schemas: SchemaCache;
  secrets(): string[];
  /** Rows one POST may insert. */
  maxInsertRows: number;
}

export interface Target {
  org_id: string;
  project_id: string;
  db_type: AutoDbType;
  db_name: string;
}

interface Db {
  key: string;
  driver: DriverPool;
}

async function database(deps: AutoApiDeps, t: Target): Promise<Db> {
  let reg: Db | undefined;
  try {
    reg = await deps.pools.registered({ orgId: t.org_id, projectId: t.project_id }, t.db_type, t.db_name);
  } catch (err) {
    if (err instanceof PermanentError) throw new AppError("NOT_FOUND", "Project not found");
    if (err instanceof RetryableError) throw new AppError("UNAVAILABLE", "the registry did not answer; retry");
    throw err;
  }
  if (!reg) throw new AppError("NOT_FOUND", `No ${t.db_type} database named ${t.db_name} is registered in this project`);
  return reg;
}

async function schemaOf(deps: AutoApiDeps, db: Db, missSince?: number): Promise<Schema> {
  try {
    return missSince !== undefined ? await deps.schemas.refreshAfterMiss(db.key, db.driver, missSince) : await deps.schemas.get(db.key, db.driver);
  } catch (err) {
    throw mapDbError(err, deps.secrets());
  }
}

/**
 * Runs `fn` on the named table. A table or column the cached schema lacks, or a name the
 * database reports missing, re-reads the schema and tries once more (the statement that
 * failed rolled back, so a retry is safe); only then is it 404 (table) or 422 (column).
 */
async function onTable<T>(deps: AutoApiDeps, t: Target, tableName: string, fn: (schema: Schema, table: Table, db: Db) => Promise<T>): Promise<T> {
  const begun = deps.schemas.clock();
  const db = await database(deps, t);
  for (let attempt = 0; ; attempt++) {
    const schema = await schemaOf(deps, db, attempt > 0 ? begun : undefined);
    const table = schema.tables.get(tableName);
    if (!table) {
      if (attempt === 0) continue;
      throw new AppError("NOT_FOUND", `Unknown table: ${tableName}`);
    }
    try {
      return await fn(schema, table, db);
    } catch (err) {
      if (err instanceof UnknownColumn) {
        if (attempt === 0) continue;
        throw badValue(err.loc, `unknown column: ${err.column} (table ${tableName})`);
      }
      const mapped = mapDbError(err, deps.secrets());
      if (mapped instanceof SchemaDrift) {
        deps.schemas.invalidate(db.key);
        if (attempt === 0) continue;
        throw new AppError("VALIDATION_FAILED", [{ loc: ["path", "table"], msg: `the schema of ${tableName} changed during the request: ${mapped.message}`, type: "schema_changed" }]);
      }
      throw mapped;
    }
  }
}

export async function describeSchema(deps: AutoApiDeps, t: Target): Promise<AutoSchema> {
  const schema = await schemaOf(deps, await database(deps, t));
  return {
    tables: [...schema.tables.values()].map((tb) => ({
      name: tb.name,
      ...(tb.view ? { view: true } : {}),
      columns: tb.columns.map((c) => ({ name: c.name, type: c.type, nullable: c.nullable, default: c.default, primary_key: c.primary_key })),
    })),
  };
}

export async function describeOpenApi(deps: AutoApiDeps, t: Target, basePath: string): Promise<Record<string, unknown>> {
  const schema = await schemaOf(deps, await database(deps, t));
  return openApiDocument(schema, basePath, `Auto API: ${t.db_type} ${t.db_name}`);
}

function keyFilters(table: Table, key: string, dialect: Schema["dialect"]): Parsed["filters"] {
  if (table.primaryKey.length === 0) throw new AppError("BAD_REQUEST", `${table.name} has no primary key: read it with filters`);
  const parts = table.primaryKey.length === 1 ? [key] : key.split(",");
  if (parts.length !== table.primaryKey.length) throw badValue(["path", "key"], `${table.name}'s key has ${table.primaryKey.length} columns (${table.primaryKey.map((c) => c.name).join(",")}): give as many comma-separated values`);
  return table.primaryKey.map((col, i) => ({ col, op: "eq" as const, value: toParam(col, parts[i], dialect, ["path", "key"], true) }));
}

type ReadTarget = Target & { table: string; query: [string, string][]; key?: string };

/** A read's query: its filters, select, order and page, and by key the key's columns, one row. */
function readQuery(schema: Schema, table: Table, t: ReadTarget): Parsed {
  const q = parseQuery(table, t.query, schema.dialect);
  if (t.key !== undefined) {
    q.filters.push(...keyFilters(table, t.key, schema.dialect));
    q.limit = 1;
    q.offset = 0;
  }
  return q;
}

export async function readRows(deps: AutoApiDeps, t: ReadTarget): Promise<{ rows: Record<string, unknown>[]; total?: number }> {
  return onTable(deps, t, t.table, async (schema, table, db) => {
    const q = readQuery(schema, table, t);
    const select = selectSql(schema.dialect, table, q);
    const count = q.count ? countSql(schema.dialect, table, q) : undefined;
    const [rows, total] = await withRunner(db.driver, false, (r) =>
      Promise.all([r.run(select.text, select.params), count ? r.run(count.text, count.params) : Promise.resolve(undefined)]),
    );
    const out = rows.rows.map((row) => fromRow(row, table.byName, schema.dialect));
    return total ? { rows: out, total: Number(total.rows[0]?.total ?? 0) } : { rows: out };
  });
}

/**
 * The read answered as the HTTP body (contract auto.rows.read.v3, a raw reply): the rows'
 * JSON text as the bytes the reply carries and the gateway writes, never parsed on the way.
 * PostgreSQL rows go from the server's text to JSON without becoming objects (pg-json.ts);
 * MySQL/MariaDB rows are read as readRows reads them and serialised here once.
 */
export async function readRowsBody(deps: AutoApiDeps, t: ReadTarget): Promise<{ body: Buffer; meta: { rows: number; total?: number } }> {
  return onTable(deps, t, t.table, async (schema, table, db) => {
    const q = readQuery(schema, table, t);
    const select = selectSql(schema.dialect, table, q);
    const count = q.count ? countSql(schema.dialect, table, q) : undefined;
    const driver = db.driver;
    const read: Promise<{ json: string; n: number }> =
      driver.kind === "postgres"
        ? runRawPostgres(driver, select.text, select.params).then((res) => ({ json: pgRowsJson(res, PG_TYPES.getTypeParser), n: res.rows.length }))
        : withRunner(driver, false, (r) => r.run(select.text, select.params)).then((res) => ({ json: JSON.stringify(res.rows.map((row) => fromRow(row, table.byName, schema.dialect))), n: res.rows.length }));
    const [{ json, n }, total] = await Promise.all([read, count ? withRunner(driver, false, (r) => r.run(count.text, count.params)) : Promise.resolve(undefined)]);
    // By key: the one row's object ("[{…}]" without its brackets), or nothing.
    const body = Buffer.from(t.key === undefined ? json : n === 1 ? json.slice(1, -1) : "");
    return { body, meta: total ? { rows: n, total: Number(total.rows[0]?.total ?? 0) } : { rows: n } };
  });
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Rows' values bound per column; PostgreSQL allows 65,535 parameters a statement, so large batches run as several statements in the one transaction. */
const MAX_PARAMS = 30_000;

export async function insertRows(deps: AutoApiDeps, t: Target & { table: string; query: [string, string][]; rows: unknown[] }): Promise<{ rows_affected: number; rows?: Record<string, unknown>[] }> {
  if (t.rows.length === 0) throw badValue(["body"], "at least one row is required");
  if (t.rows.length > deps.maxInsertRows) throw new AppError("PAYLOAD_TOO_LARGE", `at most ${deps.maxInsertRows} rows per request (got ${t.rows.length})`);
  return onTable(deps, t, t.table, async (schema, table, db) => {
    assertWritable(table);
    const q = parseQuery(table, t.query, schema.dialect);
    if (q.returnRows && schema.dialect === "mysql") throw new AppError("BAD_REQUEST", "return=rows needs INSERT … RETURNING, which MySQL lacks (MariaDB and PostgreSQL have it)");
    const used = new Set<string>();
    const rows = t.rows.map((raw, i) => {
      if (!isPlainObject(raw)) throw badValue(["body", i], "each row must be a JSON object");
      const m = new Map<string, unknown>();
      for (const [k, v] of Object.entries(raw)) {
        const col = column(table, k, ["body", i, k]);
        m.set(k, toParam(col, v, schema.dialect, ["body", i, k]));
        used.add(k);
      }
      return m;
    });
    const cols = table.columns.filter((c) => used.has(c.name));
    const perStatement = Math.max(1, Math.floor(MAX_PARAMS / Math.max(1, cols.length)));
    const chunks: Map<string, unknown>[][] = [];
    for (let i = 0; i < rows.length; i += perStatement) chunks.push(rows.slice(i, i + perStatement));
    // One statement is atomic by itself; several need the transaction.
    return withRunner(db.driver, chunks.length > 1, async (r) => {
      let affected = 0;
      const returned: Record<string, unknown>[] = [];
      for (const chunk of chunks) {
        const s = insertSql(schema.dialect, table, cols, chunk, q.returnRows ? q.select : null);
        const res = await r.run(s.text, s.params);
        affected += q.returnRows ? res.rows.length : res.affected;
        if (q.returnRows) returned.push(...res.rows.map((row) => fromRow(row, table.byName, schema.dialect)));
      }
      return q.returnRows ? { rows_affected: affected, rows: returned } : { rows_affected: affected };
    });
  });
}

function requireFilter(q: Parsed, verb: string): void {
  if (q.filters.length === 0 && !q.all) throw new AppError("BAD_REQUEST", `${verb} without a filter would touch every row: add a filter, or all=true`);
}

export async function updateRows(deps: AutoApiDeps, t: Target & { table: string; query: [string, string][]; set: unknown }): Promise<{ rows_affected: number }> {
  return onTable(deps, t, t.table, async (schema, table, db) => {
    assertWritable(table);
    const q = parseQuery(table, t.query, schema.dialect);
    if (!isPlainObject(t.set)) throw badValue(["body"], "the body must be an object of columns to set");
    const set = new Map<string, [Column, unknown]>();
    for (const [col, raw] of q.set) set.set(col.name, [col, toParam(col, raw, schema.dialect, ["query", "set"], true)]);
    for (const [k, v] of Object.entries(t.set)) {
      const col = column(table, k, ["body", k]);
      set.set(k, [col, toParam(col, v, schema.dialect, ["body", k])]);
    }
    if (set.size === 0) throw badValue(["body"], "nothing to set: give an object of columns, or set=column.value");
    requireFilter(q, "PUT");
    const s = updateSql(schema.dialect, table, [...set.values()], q);
    return { rows_affected: (await withRunner(db.driver, false, (r) => r.run(s.text, s.params))).affected };
  });
}

export async function deleteRows(deps: AutoApiDeps, t: Target & { table: string; query: [string, string][] }): Promise<{ rows_affected: number }> {
  return onTable(deps, t, t.table, async (schema, table, db) => {
    assertWritable(table);
    const q = parseQuery(table, t.query, schema.dialect);
    requireFilter(q, "DELETE");
    const s = deleteSql(schema.dialect, table, q);
    return { rows_affected: (await withRunner(db.driver, false, (r) => r.run(s.text, s.params))).affected };
  });
}
