import { RefreshAccepted, RPC_QUEUES, observeRequests } from "@pragma/contracts";
import { defineRoute, type AnyRoute } from "./route";
import type { GatewayDeps } from "./deps";
import { errorResponses } from "./openapi-helpers";
import { ResourceIdParams, TenancyHeaders } from "./schemas";

/** On-demand drift detection (api.md §9). */
export function refreshRoutes(deps: GatewayDeps): AnyRoute[] {
  return [
    defineRoute({
      method: "post",
      path: "/resources/{resource_id}/refresh",
      operationId: "refreshResource",
      summary:
        "Observe a ready resource's real object now (202): if it differs from what was applied, the resource gets `drift` and, under drift_policy heal, is re-applied (pending → ready). 409 unless the resource is ready",
      tags: ["resources"],
      auth: { kind: "bearer", role: "member" },
      headers: TenancyHeaders,
      params: ResourceIdParams,
      responses: { 202: { description: "Observation queued", schema: RefreshAccepted }, ...errorResponses(400, 401, 403, 404, 409, 429, 503, 504) },
      handler: async ({ params, req, res, principal }) => {
        const scope = await deps.tenancy.resolveScope(principal!, req.headers);
        res.status(202).json(await deps.bus.call(RPC_QUEUES.resourceStore, observeRequests.refresh, { scope, id: params.resource_id }));
      },
    }),
  ];
}
