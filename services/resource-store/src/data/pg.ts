import { createPgPool, type PoolLogger } from "@pragma/db";
import { escapeLiteral, type Pool, type PoolClient, type QueryResult } from "pg";

export type { Pool, PoolClient };

/**
 * The store's one connection pool. The hot paths (every apply, result, outbox claim,
 * read) run plain SQL on it (see PgStoreTx for how statements share round trips); the
 * Prisma client (dead letters) runs on the same pool through @prisma/adapter-pg. Measured on the 2-core
 * machine (bench/README.md): the same scoped read transaction ran at ~760/s through a
 * Prisma interactive transaction and ~3,300/s on pg directly.
 */
export function createPool(databaseUrl: string, schema: string, max = 10, logger?: PoolLogger): Pool {
  return createPgPool(
    {
    connectionString: databaseUrl,
    max,
    connectionTimeoutMillis: 10_000,
    // search_path makes unqualified table names land in this service's schema; a
    // transaction left open by a wedged process is ended by the server.
    options: `-c search_path=${schema} -c idle_in_transaction_session_timeout=60000`,
    },
    "resource-store",
    logger,
  );
}

/**
 * One pooled connection for `fn`, which owns its transaction statements; a throw rolls
 * back, and a connection that cannot roll back is discarded rather than reused.
 */
export async function withConnection<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await fn(client);
  } catch (err) {
    await client.query("ROLLBACK").catch((e: Error) => (broken = e));
    throw err;
  } finally {
    forgetUnsent(client);
    client.release(broken ?? (unknownPrepared.has(client) ? new Error("a batch that prepared statements failed: which of them exist is unknown") : undefined));
  }
}

/** BEGIN, `fn`, COMMIT on one pooled connection (ROLLBACK on a throw). */
export function inTransaction<T>(pool: Pool, fn: (client: PoolClient) => Promise<T>): Promise<T> {
  return withConnection(pool, async (client) => {
    await client.query("BEGIN");
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  });
}

export const PG_UNIQUE_VIOLATION = "23505";

export function isDeadlock(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === "40P01";
}

export function isUniqueViolation(err: unknown): boolean {
  return typeof err === "object" && err !== null && (err as { code?: unknown }).code === PG_UNIQUE_VIOLATION;
}

/**
 * Statements sent as one simple-protocol round trip (pg answers each with its own result);
 * the results of every statement, in order, whether there was one or several. The PREPAREs
 * that `execute` queued on this connection go first and their results are left out, so a
 * caller finds each of its statements' results by position.
 */
export async function roundTrip(client: PoolClient, statements: readonly string[]): Promise<QueryResult[]> {
  const prepares = queued.get(client) ?? [];
  queued.delete(client);
  let res: QueryResult | QueryResult[];
  try {
    res = (await client.query([...prepares.map((p) => p.sql), ...statements].join(";\n"))) as unknown as QueryResult | QueryResult[];
  } catch (err) {
    // PREPARE is not transactional: some of these may exist now, some not.
    if (prepares.length > 0) unknownPrepared.add(client);
    throw err;
  }
  const results = Array.isArray(res) ? res : [res];
  return results.slice(prepares.length);
}

/** A statement the store runs often: its name (one text per name) and its parameters. */
export interface NamedStatement {
  name: string;
  text: string;
  values: readonly unknown[];
}

/** Per connection, the server-side prepared statements it holds or has queued. */
const preparedOn = new WeakMap<PoolClient, Set<string>>();
/** Per connection, PREPAREs that go out with its next round trip. */
const queued = new WeakMap<PoolClient, { id: string; sql: string }[]>();
/** Connections where a round trip carrying PREPAREs failed. */
const unknownPrepared = new WeakSet<PoolClient>();
/** One text per prepared statement id, checked, so two call sites cannot share one by mistake. */
const textOf = new Map<string, string>();

/**
 * A statement for a simple-protocol batch, as `EXECUTE name(literals)` of a server-side
 * prepared statement; the first time this connection runs it, its PREPARE is queued to go
 * at the front of the next round trip (roundTrip). Batches travel in the simple protocol
 * (one round trip for several statements), which otherwise parses, analyses and plans
 * every statement every time: measured on the lifecycle benchmark, planning alone was ~40%
 * of PostgreSQL's statement time. A connection whose round trip with PREPAREs failed is
 * discarded on release (withConnection) instead of guessed about; PREPAREs queued but
 * never sent (the transaction threw first) are simply forgotten.
 */
export function execute(client: PoolClient, q: NamedStatement): string {
  const id = `s_${q.name.replace(/[^A-Za-z0-9]/g, "_")}`;
  const known = textOf.get(id);
  if (known === undefined) textOf.set(id, q.text);
  else if (known !== q.text) throw new Error(`statement name ${q.name} is used for two different texts`);
  let names = preparedOn.get(client);
  if (!names) preparedOn.set(client, (names = new Set()));
  if (!names.has(id)) {
    names.add(id);
    const list = queued.get(client) ?? [];
    list.push({ id, sql: `PREPARE ${id} AS ${q.text}` });
    queued.set(client, list);
  }
  return q.values.length === 0 ? `EXECUTE ${id}` : `EXECUTE ${id}(${q.values.map(toLiteral).join(", ")})`;
}

/** PREPAREs queued on `client` that never went out: the connection does not hold them. */
function forgetUnsent(client: PoolClient): void {
  const unsent = queued.get(client);
  if (!unsent) return;
  queued.delete(client);
  const names = preparedOn.get(client);
  for (const p of unsent) names?.delete(p.id);
}

/** jsonb parameters go as text with a ::jsonb cast; null stays SQL NULL. */
export const json = (v: unknown): string | null => (v === null || v === undefined ? null : JSON.stringify(v));

/** A string as an SQL literal, for statements sent in the simple protocol (pg's own escaping). */
export const literal = (s: string): string => escapeLiteral(s);

/**
 * A parameterised statement with its values written in as literals, for statements that
 * travel in one simple-protocol batch (node-pg sends one statement per round trip and
 * does not pipeline). Values are what this service binds: strings (jsonb goes as its
 * JSON text, cast in the SQL), null, booleans, finite numbers, Dates and string arrays.
 * Strings are escaped by pg's own escapeLiteral; anything else is refused.
 */
export function inline(text: string, values: readonly unknown[]): string {
  return text.replace(/\$(\d+)/g, (_m, n: string) => {
    const i = Number(n) - 1;
    if (i < 0 || i >= values.length) throw new Error(`inline: no value for $${n}`);
    return toLiteral(values[i]);
  });
}

function toLiteral(v: unknown): string {
  if (v === null || v === undefined) return "NULL";
  if (typeof v === "string") return escapeLiteral(v);
  if (typeof v === "boolean") return v ? "TRUE" : "FALSE";
  if (typeof v === "number" && Number.isFinite(v)) return String(v);
  if (v instanceof Date) return `${escapeLiteral(v.toISOString())}::timestamptz`;
  if (Array.isArray(v) && v.every((x) => typeof x === "string")) return v.length === 0 ? "'{}'::text[]" : `ARRAY[${v.map((x) => escapeLiteral(x)).join(",")}]::text[]`;
  throw new Error(`inline: unsupported value of type ${typeof v}`);
}
