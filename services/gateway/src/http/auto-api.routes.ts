import type { Request } from "express";
import { z } from "zod";
import {
  AutoDatabase,
  AutoSchema,
  RowsAffected,
  RPC_QUEUES,
  autoRequests,
  normalizeAutoDbType,
  registryRequests,
  type AutoDbType,
  type RequestContract,
} from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { defineRoute, type AnyRoute } from "./route";
import type { GatewayDeps } from "./deps";
import { errorResponses } from "./openapi-helpers";
import { TenancyHeaders } from "./schemas";

const DbParams = z.object({ db_type: z.string().min(1), db_name: z.string().min(1).max(128) });
const TableParams = DbParams.extend({ table: z.string().min(1).max(128) });
const KeyParams = TableParams.extend({ key: z.string().min(1).max(1024) });

/** Documented only: every other query key is a filter `column=op.value`, checked by the worker against the live schema. */
const ReadQuery = z.looseObject({
  select: z.string().optional().describe("Columns to return, comma-separated"),
  order: z.string().optional().describe("`col.asc,col2.desc`"),
  limit: z.string().optional().describe("Rows to return (default 100, at most 1000)"),
  offset: z.string().optional(),
  count: z.string().optional().describe("`exact` adds X-Total-Count"),
});
const WriteQuery = z.looseObject({
  all: z.string().optional().describe("`true` lets PUT/DELETE run without a filter"),
  set: z.union([z.string(), z.array(z.string())]).optional().describe("`column.value` (repeatable), instead of or besides a body"),
  return: z.string().optional().describe("`rows` answers POST with the inserted rows"),
});

const Rows = z.array(z.record(z.string(), z.unknown()));

const MAX_QUERY_PAIRS = 200;

/** The raw query string as (key, value) pairs in order; express' parsed object loses order and repetition shape. */
function queryPairs(req: Request): [string, string][] {
  const i = req.originalUrl.indexOf("?");
  if (i < 0) return [];
  const pairs = [...new URLSearchParams(req.originalUrl.slice(i + 1))];
  // The bus contract caps them too; past it the request would fail validation on publish (a 500), so say it here.
  if (pairs.length > MAX_QUERY_PAIRS) throw new AppError("VALIDATION_FAILED", [{ loc: ["query"], msg: `at most ${MAX_QUERY_PAIRS} query parameters`, type: "too_long" }]);
  return pairs;
}

function dbType(value: string): AutoDbType {
  const t = normalizeAutoDbType(value);
  if (!t) throw new AppError("NOT_FOUND", `Unknown database type: ${value} (postgres or mysql)`);
  return t;
}

/**
 * Auto API routes (api.md §7). The gateway decides the scope (token org, project and space
 * headers: another org's project is 404) and the role; the SQL runs on a provider worker.
 */
export function autoApiRoutes(deps: GatewayDeps): AnyRoute[] {
  const member = { kind: "bearer", role: "member" } as const;
  const writer = { kind: "bearer", role: "operator" } as const;
  const common = errorResponses(400, 401, 403, 404, 422, 429, 502, 503, 504);
  const tags = ["auto-api"];

  const target = async (req: Request, principal: Parameters<typeof deps.tenancy.resolveScope>[0], params: { db_type: string; db_name: string }) => {
    const scope = await deps.tenancy.resolveScope(principal, req.headers);
    return { org_id: scope.org_id, project_id: scope.project_id, db_type: dbType(params.db_type), db_name: params.db_name };
  };
  const worker = <Q, R>(contract: RequestContract<Q, R>, payload: Q) => deps.bus.call(RPC_QUEUES.providerWorker, contract, payload);

  return [
    defineRoute({
      method: "get",
      path: "/auto/v1/",
      operationId: "autoListDatabases",
      summary: "The project's registered databases (no host, user or password)",
      tags,
      auth: member,
      headers: TenancyHeaders,
      responses: { 200: { description: "Databases", schema: z.array(AutoDatabase) }, ...common },
      handler: async ({ req, res, principal }) => {
        const scope = await deps.tenancy.resolveScope(principal!, req.headers);
        const project = await deps.bus.call(RPC_QUEUES.registry, registryRequests.getProject, { org_id: scope.org_id, project_id: scope.project_id });
        res.json(project.database.map((d) => ({ db_type: d.db_type, db_name: d.db_name })));
      },
    }),
    defineRoute({
      method: "get",
      path: "/auto/v1/{db_type}/{db_name}",
      operationId: "autoGetSchema",
      summary: "Tables, views and columns of the database's exposed schema, as introspected now",
      tags,
      auth: member,
      headers: TenancyHeaders,
      params: DbParams,
      responses: { 200: { description: "Schema", schema: AutoSchema }, ...common },
      handler: async ({ params, req, res, principal }) => {
        res.json(await worker(autoRequests.schema, await target(req, principal!, params)));
      },
    }),
    // Before the table routes, so a table cannot shadow it (a table named openapi.json is reachable only by its rows' routes' other methods).
    defineRoute({
      method: "get",
      path: "/auto/v1/{db_type}/{db_name}/openapi.json",
      operationId: "autoGetOpenApi",
      summary: "OpenAPI 3.1 document of the database's table routes, generated from the live schema",
      tags,
      auth: member,
      headers: TenancyHeaders,
      params: DbParams,
      responses: { 200: { description: "OpenAPI document" }, ...common },
      handler: async ({ params, req, res, principal }) => {
        const t = await target(req, principal!, params);
        res.json(await worker(autoRequests.openapi, { ...t, base_path: `/auto/v1/${encodeURIComponent(params.db_type)}/${encodeURIComponent(params.db_name)}` }));
      },
    }),
    defineRoute({
      method: "get",
      path: "/auto/v1/{db_type}/{db_name}/{table}",
      operationId: "autoReadRows",
      summary: "Rows of a table or view: filters `column=op.value` (eq ne lt gt le ge bw in nin li rli is), select, order, limit, offset, count=exact",
      tags,
      auth: member,
      headers: TenancyHeaders,
      params: TableParams,
      query: ReadQuery,
      responses: { 200: { description: "Rows", schema: Rows, headers: { "X-Total-Count": "With count=exact: rows matching the filters" } }, ...common },
      handler: async ({ params, req, res, principal }) => {
        const t = await target(req, principal!, params);
        // The worker's answer is the body's bytes already (auto.rows.read.v3, a raw reply): written as they came, never parsed here.
        const { body, meta } = await worker(autoRequests.readBody, { ...t, table: params.table, query: queryPairs(req) });
        if (meta.total !== undefined) res.setHeader("X-Total-Count", String(meta.total));
        res.type("application/json").send(body);
      },
    }),
    defineRoute({
      method: "get",
      path: "/auto/v1/{db_type}/{db_name}/{table}/{key}",
      operationId: "autoReadRow",
      summary: "One row by primary key (composite keys: values comma-separated in key order), or 404",
      tags,
      auth: member,
      headers: TenancyHeaders,
      params: KeyParams,
      responses: { 200: { description: "The row", schema: z.record(z.string(), z.unknown()) }, ...common },
      handler: async ({ params, req, res, principal }) => {
        const t = await target(req, principal!, params);
        const { body, meta } = await worker(autoRequests.readBody, { ...t, table: params.table, key: params.key, query: queryPairs(req) });
        if (meta.rows === 0) throw new AppError("NOT_FOUND", `No row of ${params.table} with primary key ${params.key}`);
        res.type("application/json").send(body);
      },
    }),
    defineRoute({
      method: "post",
      path: "/auto/v1/{db_type}/{db_name}/{table}",
      operationId: "autoInsertRows",
      summary: "Insert rows (an array, or one object) in one transaction: one bad row rolls back the batch",
      tags,
      auth: writer,
      headers: TenancyHeaders,
      params: TableParams,
      query: WriteQuery,
      body: z.union([z.array(z.record(z.string(), z.unknown())), z.record(z.string(), z.unknown())]),
      responses: { 201: { description: "Inserted: {rows_affected}, or the rows with return=rows", schema: z.union([RowsAffected, Rows]) }, ...common, ...errorResponses(409, 413) },
      handler: async ({ params, body, req, res, principal }) => {
        const t = await target(req, principal!, params);
        const rows = Array.isArray(body) ? body : [body];
        const r = await worker(autoRequests.insert, { ...t, table: params.table, rows, query: queryPairs(req) });
        res.status(201).json(r.rows ?? { rows_affected: r.rows_affected });
      },
    }),
    defineRoute({
      method: "put",
      path: "/auto/v1/{db_type}/{db_name}/{table}",
      operationId: "autoUpdateRows",
      summary: "Update the rows matching the filters (400 with no filter unless all=true); body: columns to set, or ?set=column.value",
      tags,
      auth: writer,
      headers: TenancyHeaders,
      params: TableParams,
      query: WriteQuery,
      responses: { 200: { description: "Rows updated (0 is not an error)", schema: RowsAffected }, ...common, ...errorResponses(409) },
      handler: async ({ params, req, res, principal }) => {
        const t = await target(req, principal!, params);
        // An absent body (Minimal's set= only) arrives as undefined; the worker checks the shape.
        const set: unknown = req.body ?? {};
        res.json(await worker(autoRequests.update, { ...t, table: params.table, set, query: queryPairs(req) }));
      },
    }),
    defineRoute({
      method: "delete",
      path: "/auto/v1/{db_type}/{db_name}/{table}",
      operationId: "autoDeleteRows",
      summary: "Delete the rows matching the filters (400 with no filter unless all=true)",
      tags,
      auth: writer,
      headers: TenancyHeaders,
      params: TableParams,
      query: WriteQuery,
      responses: { 200: { description: "Rows deleted (0 is not an error)", schema: RowsAffected }, ...common, ...errorResponses(409) },
      handler: async ({ params, req, res, principal }) => {
        const t = await target(req, principal!, params);
        res.json(await worker(autoRequests.delete, { ...t, table: params.table, query: queryPairs(req) }));
      },
    }),
  ];
}
