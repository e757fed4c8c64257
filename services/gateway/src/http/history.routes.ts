import { HistoryQuery, ResourceHistory, RPC_QUEUES, historyRequests } from "@pragma/contracts";
import { defineRoute, type AnyRoute } from "./route";
import type { GatewayDeps } from "./deps";
import { errorResponses } from "./openapi-helpers";
import { ResourceIdParams, TenancyHeaders } from "./schemas";

/** A resource's history (api.md §9), as the store keeps it; the scope is decided here. */
export function historyRoutes(deps: GatewayDeps): AnyRoute[] {
  return [
    defineRoute({
      method: "get",
      path: "/resources/{resource_id}/events",
      operationId: "getResourceEvents",
      summary:
        "A resource's history, newest first: applied, queued, started, succeeded, failed, dead_lettered, retried, drift_detected, healed, deleted; each with its time, event id (where there is one), request id and a redacted summary. The store keeps the newest 100 per resource, also after the resource is deleted",
      tags: ["resources"],
      auth: { kind: "bearer", role: "member" },
      headers: TenancyHeaders,
      params: ResourceIdParams,
      query: HistoryQuery,
      responses: { 200: { description: "History", schema: ResourceHistory }, ...errorResponses(400, 401, 403, 404, 429, 503, 504) },
      handler: async ({ params, query, req, res, principal }) => {
        const scope = await deps.tenancy.resolveScope(principal!, req.headers);
        res.json(await deps.bus.call(RPC_QUEUES.resourceStore, historyRequests.events, { scope, id: params.resource_id, limit: query.limit }));
      },
    }),
  ];
}
