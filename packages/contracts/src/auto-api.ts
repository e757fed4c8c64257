import { z } from "zod";
import { defineRawRequest, defineRequest } from "./message";

/**
 * The Auto API (api.md §7): REST over the tables of a project's registered databases.
 * The gateway resolves the tenant scope and forwards; a provider worker (any replica,
 * queue RPC_QUEUES.providerWorker) runs the SQL on the pool it already keeps for that
 * database. Query strings travel as raw (key, value) pairs: only the worker knows the
 * live schema the filters are checked against.
 */
export const AutoDbType = z.enum(["postgres", "mysql"]);
export type AutoDbType = z.infer<typeof AutoDbType>;

/** `postgresql` and `mariadb` are accepted in paths as aliases, as at registration (§2). */
export function normalizeAutoDbType(value: string): AutoDbType | null {
  const v = value.toLowerCase();
  if (v === "postgres" || v === "postgresql") return "postgres";
  if (v === "mysql" || v === "mariadb") return "mysql";
  return null;
}

const AutoTarget = z.object({
  org_id: z.string(),
  project_id: z.string(),
  db_type: AutoDbType,
  db_name: z.string().min(1),
});

const TableTarget = AutoTarget.extend({ table: z.string().min(1).max(128) });

/** The query string as sent, in order; repeated keys stay repeated (filters on one column AND together). */
const QueryPairs = z.array(z.tuple([z.string(), z.string()])).max(200);

/** A read: the query, and for one row by primary key its value(s). */
const ReadTarget = TableTarget.extend({ query: QueryPairs, key: z.string().optional() });

/**
 * A row: any JSON object. Checked as "an object" only: a row's values are whatever the
 * table holds, and z.record walks every key (measured: 0.5-0.9 ms per 100-row answer, paid
 * by the worker on reply and again by the gateway, more than the query itself).
 */
const JsonRow = z.custom<Record<string, unknown>>((v) => typeof v === "object" && v !== null && !Array.isArray(v), "must be a JSON object");

export const AutoColumn = z.object({
  name: z.string(),
  type: z.string(),
  nullable: z.boolean(),
  default: z.string().nullable(),
  primary_key: z.boolean(),
});
export type AutoColumn = z.infer<typeof AutoColumn>;

export const AutoTable = z.object({
  name: z.string(),
  view: z.boolean().optional(),
  columns: z.array(AutoColumn),
});
export type AutoTable = z.infer<typeof AutoTable>;

export const AutoSchema = z.object({ tables: z.array(AutoTable) });
export type AutoSchema = z.infer<typeof AutoSchema>;

export const AutoDatabase = z.object({ db_type: AutoDbType, db_name: z.string() });

export const RowsAffected = z.object({ rows_affected: z.number().int().min(0) });

export const autoRequests = {
  schema: defineRequest("auto.schema.get.v1", AutoTarget, AutoSchema),
  openapi: defineRequest("auto.openapi.get.v1", AutoTarget.extend({ base_path: z.string() }), z.record(z.string(), z.unknown())),
  /** Rows by filter, or one row when `key` (the primary key's value(s), comma-separated when composite) is given. */
  read: defineRequest(
    "auto.rows.read.v1",
    ReadTarget,
    z.object({ rows: z.array(JsonRow), total: z.number().int().min(0).optional() }),
  ),
  /**
   * The same read answered as the HTTP body itself, a raw reply (RawAnswer): `body` is the
   * rows' JSON array as UTF-8 bytes (with `key`: the one row's JSON object, or empty when
   * there is none), the reply message's body, so the worker never escapes it into an
   * envelope and the gateway never parses it; `meta` carries `rows` and `total`. Workers
   * answer v1 too, for gateways of the previous release during a rolling update; a worker
   * of that release answers v3 BAD_REQUEST, so workers roll out before gateways.
   */
  readBody: defineRawRequest(
    "auto.rows.read.v3",
    ReadTarget,
    z.object({ rows: z.number().int().min(0), total: z.number().int().min(0).optional() }),
  ),
  insert: defineRequest(
    "auto.rows.insert.v1",
    TableTarget.extend({ query: QueryPairs, rows: z.array(z.unknown()) }),
    RowsAffected.extend({ rows: z.array(JsonRow).optional() }),
  ),
  update: defineRequest("auto.rows.update.v1", TableTarget.extend({ query: QueryPairs, set: z.unknown() }), RowsAffected),
  delete: defineRequest("auto.rows.delete.v1", TableTarget.extend({ query: QueryPairs }), RowsAffected),
} as const;
