import { resourceRequests } from "@pragma/contracts";
import { handler, type RpcHandlers } from "@pragma/messaging";
import { applyResource, type ApplyDeps } from "../domain/resources/apply-resource";
import { getResource } from "../domain/resources/get-resource";
import { presentResource } from "../domain/resources/present";

/** Thin: contract in, use case, wire shape out. */
export function resourceHandlers(deps: ApplyDeps): RpcHandlers {
  return {
    [resourceRequests.apply.type]: handler(resourceRequests.apply, async ({ scope, body }) =>
      presentResource(await applyResource(deps, scope, body)),
    ),
    [resourceRequests.get.type]: handler(resourceRequests.get, async ({ scope, id }) => presentResource(await getResource(deps, scope, id))),
  };
}
