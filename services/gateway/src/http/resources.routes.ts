import { z } from "zod";
import {
  ApplyResourceBody,
  ListResourcesQuery,
  Resource,
  ResourceDefinition,
  ResourceStatus,
  ResourceHealth,
  ResourceLogLine,
  HEADERS,
  RPC_QUEUES,
  resourceRequests,
  workerRequests,
  type InspectedResource,
  type TenantScope,
} from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { roleAllows } from "../auth/roles";
import { defineRoute, type AnyRoute } from "./route";
import type { GatewayDeps } from "./deps";
import { errorResponses } from "./openapi-helpers";
import { queryFlag, ResourceIdParams, TenancyHeaders } from "./schemas";
import { IdempotencyKeyHeader, idempotencyKeyOf } from "./idempotency-key";

const LogsQuery = z.object({
  tail: z.coerce.number().int().min(1).max(10_000).default(100),
  since: z.string().datetime({ offset: true }).optional(),
});

const TypesQuery = z.object({ provider: z.string().optional() });

const GetQuery = z.object({
  reveal: queryFlag('Show sensitive config and outputs (passwords, connection strings, secret values) in clear; admin role only. Otherwise they read "[REDACTED]".'),
});

const DeleteQuery = z.object({
  force: queryFlag("Delete even though other resources depend on it: they keep their state and their references dangle (one still waiting for it to be ready fails). Otherwise 409 naming them."),
});

const LogsBody = z.object({ resource_id: z.string(), lines: z.array(ResourceLogLine) });

function inspected(scope: TenantScope, r: Resource): InspectedResource {
  return {
    org_id: scope.org_id,
    project_id: scope.project_id,
    space_id: scope.space_id,
    resource_id: r.id,
    provider: r.provider,
    resource_type: r.resource,
    resource_name: r.name,
    config: r.config,
    outputs: r.outputs,
  };
}

/** Resource routes: the scope is decided here (token + headers, checked by the registry) and passed to the store. */
export function resourceRoutes(deps: GatewayDeps): AnyRoute[] {
  const member = { kind: "bearer", role: "member" } as const;
  const common = errorResponses(400, 401, 403, 404, 429, 503, 504);
  /** Workers keep no resource state: the store's copy (in the caller's scope, so 404 across tenants) goes with the question. */
  const loadForWorker = async (principal: Parameters<typeof deps.tenancy.resolveScope>[0], headers: Parameters<typeof deps.tenancy.resolveScope>[1], id: string) => {
    const scope = await deps.tenancy.resolveScope(principal, headers);
    // The worker that checks health may need the real values; they go to it sealed (it
    // opens them), never to the client, and never in clear on the bus.
    const resource = await deps.bus.call(RPC_QUEUES.resourceStore, resourceRequests.get, { scope, id, sealed: true });
    return inspected(scope, resource);
  };
  return [
    defineRoute({
      method: "get",
      path: "/resources/types",
      operationId: "listResourceTypes",
      summary: "Resource types the workers serve, sorted by provider then resource",
      tags: ["resources"],
      auth: member,
      headers: TenancyHeaders,
      query: TypesQuery,
      responses: { 200: { description: "Type definitions", schema: z.array(ResourceDefinition) }, ...errorResponses(400, 401, 403, 404, 429, 503, 504) },
      handler: async ({ query, req, res, principal }) => {
        // The store holds the catalogue (cached from the workers) because apply validates against it.
        const scope = await deps.tenancy.resolveScope(principal!, req.headers);
        const { types } = await deps.bus.call(RPC_QUEUES.resourceStore, resourceRequests.listTypes, { scope, ...(query.provider ? { provider: query.provider } : {}) });
        res.json(types);
      },
    }),
    defineRoute({
      method: "post",
      path: "/resources/apply",
      operationId: "applyResource",
      summary: "Create or update a resource",
      tags: ["resources"],
      auth: member,
      headers: TenancyHeaders.extend(IdempotencyKeyHeader.shape),
      body: ApplyResourceBody,
      responses: { 200: { description: "The stored resource", schema: Resource }, ...common, ...errorResponses(409, 413, 422) },
      handler: async ({ body, req, res, principal }) => {
        const key = idempotencyKeyOf(req.headers);
        const scope = await deps.tenancy.resolveScope(principal!, req.headers);
        const headers = key === undefined ? undefined : { [HEADERS.idempotencyKey]: key };
        // The whole scope: an apply may change its dependents too.
        res.json(await deps.resources.afterWrite(scope, () => deps.bus.call(RPC_QUEUES.resourceStore, resourceRequests.apply, { scope, body }, headers ? { headers } : {})));
      },
    }),
    defineRoute({
      method: "get",
      path: "/resources/",
      operationId: "listResources",
      summary: "List resources sorted by name; `tags` repeats and all must match; the next page's cursor is in the `next_cursor` header",
      tags: ["resources"],
      auth: member,
      headers: TenancyHeaders,
      query: ListResourcesQuery,
      responses: {
        200: { description: "A page of resources", schema: z.array(Resource), headers: { next_cursor: "Cursor of the next page; absent on the last page." } },
        ...common,
        ...errorResponses(422),
      },
      handler: async ({ query, req, res, principal }) => {
        const scope = await deps.tenancy.resolveScope(principal!, req.headers);
        const tags = query.tags === undefined ? undefined : Array.isArray(query.tags) ? query.tags : [query.tags];
        const page = await deps.bus.call(RPC_QUEUES.resourceStore, resourceRequests.list, {
          scope,
          limit: query.limit,
          ...(query.provider !== undefined ? { provider: query.provider } : {}),
          ...(query.resource !== undefined ? { resource: query.resource } : {}),
          ...(tags ? { tags } : {}),
          ...(query.cursor !== undefined ? { cursor: query.cursor } : {}),
        });
        if (page.next_cursor) res.setHeader("next_cursor", page.next_cursor);
        res.json(page.items);
      },
    }),
    defineRoute({
      method: "get",
      path: "/resources/{resource_id}/status",
      operationId: "getResourceStatus",
      summary: "A resource's lifecycle state and error",
      tags: ["resources"],
      auth: member,
      headers: TenancyHeaders,
      params: ResourceIdParams,
      responses: { 200: { description: "Status", schema: ResourceStatus }, ...common },
      handler: async ({ params, req, res, principal }) => {
        const scope = await deps.tenancy.resolveScope(principal!, req.headers);
        res.json(await deps.bus.call(RPC_QUEUES.resourceStore, resourceRequests.status, { scope, id: params.resource_id }));
      },
    }),
    defineRoute({
      method: "delete",
      path: "/resources/{resource_id}",
      operationId: "deleteResource",
      summary:
        "Delete a resource (and what it owns, children first): 200 with it pending its DELETE, or 204 when it is gone already or was never provisioned (removed at once, no provider call). 409 naming the dependents when other resources depend on it, unless force=true",
      tags: ["resources"],
      auth: member,
      headers: TenancyHeaders,
      params: ResourceIdParams,
      query: DeleteQuery,
      responses: { 200: { description: "Pending deletion", schema: Resource }, 204: { description: "Deleted, or never existed" }, ...common, ...errorResponses(409, 422) },
      handler: async ({ params, query, req, res, principal }) => {
        const scope = await deps.tenancy.resolveScope(principal!, req.headers);
        const { resource } = await deps.resources.afterWrite(scope, () =>
          deps.bus.call(RPC_QUEUES.resourceStore, resourceRequests.delete, { scope, id: params.resource_id, ...(query.force ? { force: true } : {}) }),
        );
        if (resource) res.json(resource);
        else res.status(204).end();
      },
    }),
    defineRoute({
      method: "get",
      path: "/resources/{resource_id}",
      operationId: "getResource",
      summary:
        "Get a resource by id (`resource:{provider}_{type}_{name}`, or the legacy `provider/type/name` URL-encoded); sensitive outputs are redacted unless an admin passes `reveal=true`. May be answered from the gateway's cache, which a change drops within milliseconds (your own writes through the same gateway at once); `Cache-Control: no-cache` reads from the store",
      tags: ["resources"],
      auth: member,
      headers: TenancyHeaders,
      params: ResourceIdParams,
      query: GetQuery,
      responses: { 200: { description: "The resource", schema: Resource }, ...common, ...errorResponses(422) },
      handler: async ({ params, query, req, res, principal }) => {
        if (query.reveal && !roleAllows(principal!.role, "admin")) {
          throw new AppError("FORBIDDEN", `Role '${principal!.role}' cannot reveal sensitive outputs; it needs 'admin'`);
        }
        const scope = await deps.tenancy.resolveScope(principal!, req.headers);
        if (query.reveal) {
          // Revealed secrets are never cached, here or by the client.
          res.setHeader("Cache-Control", "no-store");
          res.json(await deps.bus.call(RPC_QUEUES.resourceStore, resourceRequests.get, { scope, id: params.resource_id, reveal: true }));
          return;
        }
        // The resource cache (services/gateway/README.md): `Cache-Control: no-cache` asks the store.
        const cached = wantsFresh(req.headers["cache-control"]) ? undefined : deps.resources.get(scope, params.resource_id);
        if (cached !== undefined) {
          res.type("json").send(cached);
          return;
        }
        const ticket = deps.resources.begin(scope, params.resource_id);
        let resource;
        try {
          resource = await deps.bus.call(RPC_QUEUES.resourceStore, resourceRequests.get, { scope, id: params.resource_id });
        } catch (err) {
          deps.resources.abandon(ticket); // errors (404 included) are not cached
          throw err;
        }
        const body = JSON.stringify(resource);
        // Kept under the canonical id only (the one change notifications name), not a legacy alias.
        if (resource.id === params.resource_id) deps.resources.fill(ticket, body);
        else deps.resources.abandon(ticket);
        res.type("json").send(body);
      },
    }),
    defineRoute({
      method: "get",
      path: "/resources/{resource_id}/logs",
      operationId: "getResourceLogs",
      summary: "A resource's log lines, answered by a provider worker",
      tags: ["resources"],
      auth: member,
      headers: TenancyHeaders,
      params: ResourceIdParams,
      query: LogsQuery,
      responses: { 200: { description: "Log lines", schema: LogsBody }, ...common, ...errorResponses(422, 502) },
      handler: async ({ params, query, req, res, principal }) => {
        const target = await loadForWorker(principal!, req.headers, params.resource_id);
        res.json(await deps.bus.call(RPC_QUEUES.providerWorker, workerRequests.logs, { ...target, tail: query.tail, ...(query.since ? { since: query.since } : {}) }));
      },
    }),
    defineRoute({
      method: "get",
      path: "/resources/{resource_id}/health",
      operationId: "getResourceHealth",
      summary: "A resource's health, checked by a provider worker (404 when its type has no health check)",
      tags: ["resources"],
      auth: member,
      headers: TenancyHeaders,
      params: ResourceIdParams,
      responses: { 200: { description: "Health", schema: ResourceHealth }, ...common, ...errorResponses(502) },
      handler: async ({ params, req, res, principal }) => {
        const target = await loadForWorker(principal!, req.headers, params.resource_id);
        res.json(await deps.bus.call(RPC_QUEUES.providerWorker, workerRequests.health, target));
      },
    }),
  ];
}

/** A request's `Cache-Control: no-cache` (or `max-age=0`): answer from the store, not the cache. */
function wantsFresh(header: string | string[] | undefined): boolean {
  if (header === undefined) return false;
  const v = (Array.isArray(header) ? header.join(",") : header).toLowerCase();
  return /(^|[\s,])(no-cache|no-store|max-age=0)\b/.test(v);
}
