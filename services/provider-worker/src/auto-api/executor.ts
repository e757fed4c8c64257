import pg from "pg";
import type { DriverPool } from "../data/databases";
import type { RawResult } from "./pg-json";

export interface Result {
  rows: Record<string, unknown>[];
  affected: number;
}

export interface Runner {
  run(text: string, params: unknown[]): Promise<Result>;
}

/**
 * Per-query type parsing for PostgreSQL (the pool is shared with the providers, so its
 * global parsers stay as they are): `timestamp` without zone is read as UTC, `date` stays
 * the calendar date it is. int8 and numeric are strings already (pg's defaults).
 */
export const PG_TYPES = {
  getTypeParser(oid: number, format?: string): (text: string) => unknown {
    if (oid === 1114) return (v: string) => new Date(`${v.replace(" ", "T")}Z`);
    if (oid === 1082) return (v: string) => v;
    return (pg.types.getTypeParser as (o: number, f?: string) => (text: string) => unknown)(oid, format);
  },
};

/** Every value as the server's text (pg-json.ts encodes it). */
const PG_RAW_TYPES = { getTypeParser: () => (v: string) => v };

/**
 * Named (server-side prepared) statements per connection, by SQL text: a read whose shape
 * repeats skips PostgreSQL's parse and plan (measured on the bench's 100-row read: backend
 * CPU 0.24-0.27 → 0.13-0.19 ms). At most MAX_PREPARED per connection, since every distinct
 * filter, select or limit is a distinct text a caller chooses: past it a read runs unnamed,
 * as before. The connections are the pool's (closed when idle, with their statements).
 */
const MAX_PREPARED = 64;
const prepared = new WeakMap<pg.PoolClient, Map<string, string | null>>();
/**
 * A plan whose result type changed (ALTER COLUMN … TYPE), a statement gone (DISCARD ALL),
 * or one there already (a pooler such as PgBouncer in transaction mode, which moves
 * statements between server connections): run that text unnamed from then on.
 */
const STALE_STATEMENT = new Set(["0A000", "26000", "42P05"]);

function statementName(client: pg.PoolClient, text: string): string | undefined {
  let names = prepared.get(client);
  if (!names) prepared.set(client, (names = new Map()));
  const known = names.get(text);
  if (known !== undefined) return known ?? undefined;
  if (names.size >= MAX_PREPARED) return undefined;
  const name = `pragma_auto_${names.size}`;
  names.set(text, name);
  return name;
}

/**
 * A PostgreSQL read whose values stay the server's text, rows as arrays: for pgRowsJson.
 * On a pool connection, without a transaction, like withRunner(driver, false, …).
 */
export async function runRawPostgres(driver: Extract<DriverPool, { kind: "postgres" }>, text: string, params: unknown[]): Promise<RawResult> {
  const client = await driver.pool.connect();
  let broken: Error | undefined;
  try {
    const run = (name: string | undefined) => client.query({ text, values: params, rowMode: "array", types: PG_RAW_TYPES, ...(name ? { name } : {}) } as pg.QueryConfig);
    const name = statementName(client, text);
    let r: pg.QueryResult;
    try {
      r = await run(name);
    } catch (err) {
      if (!name || !STALE_STATEMENT.has((err as { code?: string }).code ?? "")) throw err;
      prepared.get(client)?.set(text, null);
      r = await run(undefined);
    }
    return { fields: r.fields, rows: r.rows as unknown as (string | null)[][] };
  } catch (err) {
    // A connection-level failure (not an SQL error) must not go back to the pool.
    if (!(err as { code?: string }).code) broken = err as Error;
    throw err;
  } finally {
    client.release(broken);
  }
}

/**
 * MySQL/MariaDB: server-side prepared statements (values bound by the server, never
 * interpolated), BIGINT and DECIMAL as strings, DATETIME/TIMESTAMP as strings we turn into ISO.
 */
const MY_OPTIONS = { supportBigNumbers: true, bigNumberStrings: true, dateStrings: true } as const;

function pgRunner(q: (config: pg.QueryConfig) => Promise<pg.QueryResult>): Runner {
  return {
    async run(text, params) {
      const r = await q({ text, values: params, types: PG_TYPES } as pg.QueryConfig);
      return { rows: r.rows as Record<string, unknown>[], affected: r.rowCount ?? 0 };
    },
  };
}

function myRunner(exec: (opts: object) => Promise<[unknown, unknown]>): Runner {
  return {
    async run(text, params) {
      const [res] = await exec({ sql: text, values: params, ...MY_OPTIONS });
      if (Array.isArray(res)) return { rows: res as Record<string, unknown>[], affected: res.length };
      return { rows: [], affected: (res as { affectedRows?: number }).affectedRows ?? 0 };
    },
  };
}

/** Runs `fn` on the pool (no transaction) or, with `tx`, on one connection inside a transaction that rolls back on any error. */
export async function withRunner<T>(driver: DriverPool, tx: boolean, fn: (r: Runner) => Promise<T>): Promise<T> {
  if (driver.kind === "postgres") {
    if (!tx) return fn(pgRunner((c) => driver.pool.query(c)));
    const client = await driver.pool.connect();
    let broken = false;
    try {
      await client.query("BEGIN");
      const out = await fn(pgRunner((c) => client.query(c)));
      await client.query("COMMIT");
      return out;
    } catch (err) {
      await client.query("ROLLBACK").catch(() => (broken = true));
      throw err;
    } finally {
      client.release(broken);
    }
  }
  if (!tx) return fn(myRunner((o) => driver.pool.execute(o as never) as Promise<[unknown, unknown]>));
  const conn = await driver.pool.getConnection();
  let broken = false;
  try {
    await conn.beginTransaction();
    const out = await fn(myRunner((o) => conn.execute(o as never) as Promise<[unknown, unknown]>));
    await conn.commit();
    return out;
  } catch (err) {
    await conn.rollback().catch(() => (broken = true));
    throw err;
  } finally {
    if (broken) conn.destroy();
    else conn.release();
  }
}
