import { ApplyResourceBody, Resource, RPC_QUEUES, resourceRequests } from "@pragma/contracts";
import { defineRoute, type AnyRoute } from "./route";
import type { GatewayDeps } from "./deps";
import { errorResponses } from "./openapi-helpers";
import { ResourceIdParams, TenancyHeaders } from "./schemas";

/** Resource routes: the scope is decided here (token + headers, checked by the registry) and passed to the store. */
export function resourceRoutes(deps: GatewayDeps): AnyRoute[] {
  const member = { kind: "bearer", role: "member" } as const;
  const common = errorResponses(400, 401, 403, 404, 429, 503, 504);
  return [
    defineRoute({
      method: "post",
      path: "/resources/apply",
      operationId: "applyResource",
      summary: "Create or update a resource",
      tags: ["resources"],
      auth: member,
      headers: TenancyHeaders,
      body: ApplyResourceBody,
      responses: { 200: { description: "The stored resource", schema: Resource }, ...common, ...errorResponses(409, 413, 422) },
      handler: async ({ body, req, res, principal }) => {
        const scope = await deps.tenancy.resolveScope(principal!, req.headers);
        res.json(await deps.bus.call(RPC_QUEUES.resourceStore, resourceRequests.apply, { scope, body }));
      },
    }),
    defineRoute({
      method: "get",
      path: "/resources/{resource_id}",
      operationId: "getResource",
      summary: "Get a resource by id (`resource:{provider}_{type}_{name}`, or the legacy `provider/type/name` URL-encoded)",
      tags: ["resources"],
      auth: member,
      headers: TenancyHeaders,
      params: ResourceIdParams,
      responses: { 200: { description: "The resource", schema: Resource }, ...common },
      handler: async ({ params, req, res, principal }) => {
        const scope = await deps.tenancy.resolveScope(principal!, req.headers);
        res.json(await deps.bus.call(RPC_QUEUES.resourceStore, resourceRequests.get, { scope, id: params.resource_id }));
      },
    }),
  ];
}
