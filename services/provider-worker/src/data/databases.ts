import { createHash } from "node:crypto";
import pg from "pg";
import mysql from "mysql2/promise";
import type { DatabaseCredentials } from "@pragma/contracts";
import { createPgPool } from "@pragma/db";
import type { Logger } from "@pragma/logger";
import { PermanentError, type DatabaseOptions, type DbType, type SqlDatabase, type SqlQueryable } from "@pragma/provider-sdk";
import { classifySqlError } from "./sql-errors";

/** Where credentials come from: the registry, over the bus, per use (never cached in messages). */
export type CredentialsSource = (scope: { orgId: string; projectId: string }) => Promise<DatabaseCredentials[]>;

/** The driver's own pool, for the Auto API (it needs row counts, per-query type parsing and transactions). */
export type DriverPool = { kind: "postgres"; pool: pg.Pool } | { kind: "mysql"; pool: mysql.Pool };

interface PoolEntry {
  fingerprint: string;
  db: SqlDatabase;
  driver: DriverPool;
  close(): Promise<void>;
  stats(): PoolStats;
}

/** One pool's connections (metrics). */
export interface PoolStats {
  dbType: DbType;
  total: number;
  idle: number;
  /** Callers waiting for a connection. */
  waiting: number;
}

export interface PoolOptions {
  /**
   * Every statement the worker runs on a project's database is cut off after this long
   * (PostgreSQL `statement_timeout` at connect, MariaDB `max_statement_time`, MySQL
   * `max_execution_time`), so no caller can hold one of the project's few connections.
   */
  statementTimeoutMs: number;
}

/**
 * One pool per (project, registered database, target database), sized by the
 * registration. Credentials are fetched from the registry on every open, so a PATCHed
 * project (new password, new limits) rebuilds its pool on next use.
 */
export class DatabasePools {
  private readonly pools = new Map<string, PoolEntry>();
  /**
   * A registration's pool key and fingerprint, by its credentials object and the scope and
   * database they open. The credentials cache hands out the same objects until the
   * registration changes or its answer expires, so each revision is hashed once, not on
   * every request (the sha256 was ~2% of a worker's CPU per Auto API read). Credentials
   * objects are never changed in place; a new answer is new objects, hashed afresh.
   */
  private readonly identities = new WeakMap<DatabaseCredentials, Map<string, { key: string; fingerprint: string }>>();
  /** Passwords seen, to scrub from error messages that reach results and dead letters. */
  private readonly secretValues = new Set<string>();

  constructor(
    private readonly source: CredentialsSource,
    private readonly logger: Logger,
    private readonly options: PoolOptions = { statementTimeoutMs: 0 },
  ) {}

  secrets(): string[] {
    return [...this.secretValues];
  }

  stats(): PoolStats[] {
    return [...this.pools.values()].map((e) => e.stats());
  }

  async open(scope: { orgId: string; projectId: string }, dbType?: DbType, options: DatabaseOptions = {}): Promise<SqlDatabase> {
    const all = await this.source(scope);
    const creds = dbType ? all.find((d) => d.db_type === dbType) : all[0];
    if (!creds) throw new PermanentError(`project ${scope.projectId} has no registered ${dbType ?? ""} database`.replace("  ", " "));
    return this.entry(scope, creds, options.database ?? creds.db_name).db;
  }

  /**
   * The pool of the registered database named exactly (type and name), shared with the
   * providers' use of the same database; undefined when the project registers no such database.
   */
  async registered(scope: { orgId: string; projectId: string }, dbType: DbType, dbName: string): Promise<{ key: string; driver: DriverPool } | undefined> {
    const all = await this.source(scope);
    const creds = all.find((d) => d.db_type === dbType && d.db_name === dbName);
    if (!creds) return undefined;
    const entry = this.entry(scope, creds, creds.db_name);
    return { key: entry.fingerprint, driver: entry.driver };
  }

  private identity(scope: { orgId: string; projectId: string }, creds: DatabaseCredentials, database: string): { key: string; fingerprint: string } {
    let byTarget = this.identities.get(creds);
    if (!byTarget) this.identities.set(creds, (byTarget = new Map()));
    const target = `${scope.orgId}/${scope.projectId}/${database}`;
    let id = byTarget.get(target);
    if (!id) {
      this.secretValues.add(creds.password);
      id = {
        key: `${scope.orgId}/${scope.projectId}/${creds.db_type}/${creds.host}:${creds.port}/${creds.db_name}/${database}`,
        fingerprint: createHash("sha256").update(JSON.stringify(creds)).update(database).digest("hex"),
      };
      byTarget.set(target, id);
    }
    return id;
  }

  private entry(scope: { orgId: string; projectId: string }, creds: DatabaseCredentials, database: string): PoolEntry {
    const { key, fingerprint } = this.identity(scope, creds, database);
    const existing = this.pools.get(key);
    if (existing && existing.fingerprint === fingerprint) return existing;
    if (existing) {
      // The registration changed (PATCH): new limits or credentials take effect with a new pool.
      this.pools.delete(key);
      existing.close().catch((err) => this.logger.warn({ err: (err as Error).message }, "closing a replaced pool failed"));
    }
    const made = creds.db_type === "postgres" ? postgresPool(creds, database, this.options, this.logger) : mysqlPool(creds, database, this.options);
    const entry = { ...made, fingerprint };
    this.pools.set(key, entry);
    return entry;
  }

  async close(): Promise<void> {
    const entries = [...this.pools.values()];
    this.pools.clear();
    await Promise.allSettled(entries.map((e) => e.close()));
  }
}

function postgresPool(c: DatabaseCredentials, database: string, o: PoolOptions, logger: Logger): Omit<PoolEntry, "fingerprint"> {
  const pool = createPgPool({
    host: c.host,
    port: Number(c.port),
    user: c.username,
    password: c.password,
    database,
    max: c.max_open_connections,
    idleTimeoutMillis: c.idle_timeout_secs * 1000,
    connectionTimeoutMillis: c.connect_timeout_secs * 1000,
    ...(o.statementTimeoutMs > 0 ? { statement_timeout: o.statementTimeoutMs } : {}),
  }, "pragma-provider-worker", logger);
  const wrap = (q: (sql: string, params?: unknown[]) => Promise<pg.QueryResult>): SqlQueryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      try {
        return (await q(sql, params)).rows as R[];
      } catch (err) {
        throw classifySqlError(err, "postgres");
      }
    },
  });
  const base = wrap((sql, params) => pool.query(sql, params as unknown[]));
  const db: SqlDatabase = {
    dbType: "postgres",
    info: { host: c.host, port: Number(c.port), database, username: c.username },
    query: base.query,
    async withConnection(fn) {
      let client: pg.PoolClient;
      try {
        client = await pool.connect();
      } catch (err) {
        throw classifySqlError(err, "postgres");
      }
      try {
        return await fn(wrap((sql, params) => client.query(sql, params as unknown[])));
      } finally {
        client.release();
      }
    },
    ident: (name) => pg.escapeIdentifier(name),
    literal: (value) => pg.escapeLiteral(value),
  };
  return { db, driver: { kind: "postgres", pool }, close: () => pool.end(), stats: () => ({ dbType: "postgres", total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount }) };
}

/** mysql2 keeps its counts in the callback pool's fields only (no public accessor). */
interface MysqlPoolInternals {
  _allConnections?: { length: number };
  _freeConnections?: { length: number };
  _connectionQueue?: { length: number };
}

function mysqlPool(c: DatabaseCredentials, database: string, o: PoolOptions): Omit<PoolEntry, "fingerprint"> {
  const pool = mysql.createPool({
    host: c.host,
    port: Number(c.port),
    user: c.username,
    password: c.password,
    database,
    connectionLimit: c.max_open_connections,
    maxIdle: c.max_idle_connections,
    idleTimeout: c.idle_timeout_secs * 1000,
    connectTimeout: c.connect_timeout_secs * 1000,
    waitForConnections: true,
  });
  // Session settings, queued on each new connection before any statement it runs: UTC so
  // TIMESTAMP columns read and write as UTC, and the statement timeout (MariaDB's variable,
  // else MySQL's, which bounds SELECTs only; whichever the server lacks fails harmlessly).
  const secs = o.statementTimeoutMs / 1000;
  (pool as unknown as { pool: { on(ev: "connection", fn: (conn: { query(sql: string, cb: (err: unknown) => void): void }) => void): void } }).pool.on("connection", (conn) => {
    const ignore = () => undefined;
    conn.query("SET SESSION time_zone = '+00:00'", ignore);
    if (secs > 0) {
      conn.query(`SET SESSION max_statement_time = ${secs}`, ignore);
      conn.query(`SET SESSION max_execution_time = ${Math.round(o.statementTimeoutMs)}`, ignore);
    }
  });
  const wrap = (q: (sql: string, params?: unknown[]) => Promise<[unknown, unknown]>): SqlQueryable => ({
    async query<R>(sql: string, params?: unknown[]) {
      try {
        const [rows] = await q(sql, params);
        return (Array.isArray(rows) ? rows : []) as R[];
      } catch (err) {
        throw classifySqlError(err, "mysql");
      }
    },
  });
  const base = wrap((sql, params) => pool.query(sql, params) as Promise<[unknown, unknown]>);
  const db: SqlDatabase = {
    dbType: "mysql",
    info: { host: c.host, port: Number(c.port), database, username: c.username },
    query: base.query,
    async withConnection(fn) {
      let conn: mysql.PoolConnection;
      try {
        conn = await pool.getConnection();
      } catch (err) {
        throw classifySqlError(err, "mysql");
      }
      try {
        return await fn(wrap((sql, params) => conn.query(sql, params) as Promise<[unknown, unknown]>));
      } finally {
        conn.release();
      }
    },
    ident: (name) => pool.escapeId(name),
    literal: (value) => pool.escape(value),
  };
  const core = (pool as unknown as { pool?: MysqlPoolInternals }).pool ?? {};
  const stats = (): PoolStats => ({
    dbType: "mysql",
    total: core._allConnections?.length ?? 0,
    idle: core._freeConnections?.length ?? 0,
    waiting: core._connectionQueue?.length ?? 0,
  });
  return { db, driver: { kind: "mysql", pool }, close: () => pool.end(), stats };
}
