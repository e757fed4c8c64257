import type { Logger } from "@pragma/logger";

export type DbType = "postgres" | "mysql";

/** One SQL connection (or pooled handle) with the dialect's quoting rules. */
export interface SqlQueryable {
  query<R = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

/**
 * The project's registered database, reached through a pool the worker owns (sized by
 * the registration's max_open_connections, closed after idle_timeout_secs). Hooks
 * never see the registry's password; `info` says where the database is so hooks can
 * build connection strings for the roles they create.
 */
export interface SqlDatabase extends SqlQueryable {
  readonly dbType: DbType;
  readonly info: { host: string; port: number; database: string; username: string };
  /** Session-level work (transactions, SET) on one connection. */
  withConnection<T>(fn: (conn: SqlQueryable) => Promise<T>): Promise<T>;
  /** Quotes an identifier for this dialect. */
  ident(name: string): string;
  /** Quotes a string literal for this dialect (statements that take no parameters, e.g. CREATE ROLE … PASSWORD). */
  literal(value: string): string;
}

export interface DatabaseOptions {
  /** Another database on the same server, reached with the registered credentials. */
  database?: string;
}

export interface ResourceIdentity {
  provider: string;
  type: string;
  name: string;
  id: string;
  orgId: string;
  projectId: string;
  spaceId: string;
}

export type EventKind = "CREATE" | "UPDATE" | "DELETE";

export interface HookContext<C, O> {
  /** Resolved config (references already replaced by values), parsed by the type's schema. */
  config: C;
  /** The last applied config (UPDATE and DELETE); null on CREATE. */
  previousConfig: C | null;
  /** Outputs from the last success, so update and delete know what exists. */
  outputs: Partial<O> | null;
  resource: ResourceIdentity;
  eventId: string;
  eventType: EventKind;
  /** 0 on the first run; counts earlier runs of this event (retried, or killed with their worker); waiting for the resource is no attempt. */
  attempt: number;
  /** Carries the correlation id of the request this event descends from. */
  logger: Logger;
  /** Aborted when the hook's time is up or the worker is shutting down. */
  signal: AbortSignal;
  /** A line in this resource's log (GET /resources/{id}/logs). */
  log(message: string, fields?: Record<string, unknown>): void;
  /** The project's registered database of `dbType` (the first one when omitted). */
  database(dbType?: DbType, options?: DatabaseOptions): Promise<SqlDatabase>;
}

/** What health and logs hooks get: the resource as stored, no event. */
export interface InspectContext<C, O> {
  config: C;
  outputs: Partial<O> | null;
  resource: ResourceIdentity;
  logger: Logger;
  signal: AbortSignal;
  database(dbType?: DbType, options?: DatabaseOptions): Promise<SqlDatabase>;
}

export interface HealthResult {
  status: "healthy" | "unhealthy" | "degraded";
  message?: string;
  details?: Record<string, unknown>;
}

export interface LogLine {
  at: string;
  level: string;
  message: string;
  fields?: Record<string, unknown>;
}

/**
 * What an observe hook saw of the real object (api.md §9): absent, or its fields, named
 * and normalised as the type's config (or, for what config leaves open, its outputs)
 * names them, so the worker can compare them with what was applied. Read-only: an
 * observe hook never changes anything, and never reports a secret (it is compared by
 * key; a field the hook cannot read, such as a password, is simply not reported).
 */
export type Observation = { exists: false } | { exists: true; fields: Record<string, unknown> };
