import { resourceRequests } from "@pragma/contracts";
import { handler, type RpcHandlers } from "@pragma/messaging";
import { applyResource, type ApplyDeps } from "../domain/resources/apply-resource";
import { getResource, getResourceStatus } from "../domain/resources/get-resource";
import { deleteResource } from "../domain/resources/delete-resource";
import { listResources } from "../domain/resources/list-resources";
import { presentResource } from "../domain/resources/present";

/** Thin: contract in, use case, wire shape out. */
export function resourceHandlers(deps: ApplyDeps): RpcHandlers {
  return {
    [resourceRequests.apply.type]: handler(resourceRequests.apply, async ({ scope, body }) => presentResource(await applyResource(deps, scope, body))),
    [resourceRequests.get.type]: handler(resourceRequests.get, async ({ scope, id }) => presentResource(await getResource(deps, scope, id))),
    [resourceRequests.status.type]: handler(resourceRequests.status, async ({ scope, id }) => getResourceStatus(deps, scope, id)),
    [resourceRequests.list.type]: handler(resourceRequests.list, async ({ scope, ...q }) => {
      const page = await listResources(deps, scope, q);
      return { items: page.items.map(presentResource), next_cursor: page.nextCursor };
    }),
    [resourceRequests.delete.type]: handler(resourceRequests.delete, async ({ scope, id }) => {
      const r = await deleteResource(deps, scope, id);
      return { resource: r ? presentResource(r) : null };
    }),
    [resourceRequests.listTypes.type]: handler(resourceRequests.listTypes, async ({ scope, provider }) => {
      const types = await deps.types.list(scope);
      return { types: provider === undefined ? types : types.filter((t) => t.provider === provider) };
    }),
  };
}
