import { HISTORY_KEPT_PER_RESOURCE, historyRequests, resourceRequests, type Resource, type TenantScope } from "@pragma/contracts";
import { listHistory, type HistoryReader } from "../domain/resources/history";
import { handler, handlerTable, type RpcHandlers } from "@pragma/messaging";
import { applyResource, type ApplyDeps } from "../domain/resources/apply-resource";
import { getResource, getResourceStatus } from "../domain/resources/get-resource";
import { deleteResource } from "../domain/resources/delete-resource";
import { listResources } from "../domain/resources/list-resources";
import { listChanges } from "../domain/resources/list-changes";
import type { ChangeLog } from "../domain/resources/ports";
import type { ResourceRecord } from "../domain/resources/model";
import { presentResource, presentSensitive } from "../domain/resources/present";
import { requestKeyOf } from "../domain/resources/repeated-requests";

/** Thin: contract in, use case, wire shape out. */
export function resourceHandlers(deps: ApplyDeps & { changeLog: ChangeLog; history: HistoryReader }): RpcHandlers {
  /** Sensitive config and outputs are redacted unless the caller (the gateway, for an admin) asked to reveal them. */
  const presenter = async (scope: TenantScope, reveal = false): Promise<(r: ResourceRecord) => Resource> =>
    presentSensitive(reveal ? { reveal: deps.sealer } : { types: await deps.types.list(scope).catch(() => null) });
  return handlerTable(
    // Writes carry their request's key: a repeat gets the first answer (repeated-requests.ts).
    handler(resourceRequests.apply, async ({ scope, body }, ctx) => {
      const r = await applyResource(deps, scope, body, requestKeyOf(resourceRequests.apply.type, { scope, body }, ctx));
      return (await presenter(scope))(r);
    }),
    handler(resourceRequests.get, async ({ scope, id, reveal, sealed }) => {
      const r = await getResource(deps, scope, id);
      return sealed ? presentResource(r) : (await presenter(scope, reveal))(r);
    }),
    handler(resourceRequests.status, async ({ scope, id }) => getResourceStatus(deps, scope, id)),
    handler(resourceRequests.list, async ({ scope, ...q }) => {
      const page = await listResources(deps, scope, q);
      return { items: page.items.map(await presenter(scope)), next_cursor: page.nextCursor };
    }),
    handler(resourceRequests.delete, async ({ scope, id, force }, ctx) => {
      const r = await deleteResource(deps, scope, id, { force }, requestKeyOf(resourceRequests.delete.type, { scope, id, force }, ctx));
      return { resource: r ? (await presenter(scope))(r) : null };
    }),
    handler(resourceRequests.changes, async ({ scope, ...q }) => {
      const page = await listChanges(deps, scope, q);
      const present = await presenter(scope);
      return {
        position: page.position,
        reset: page.reset,
        more: page.more,
        changes: page.changes.map((c) =>
          c.kind === "changed"
            ? { at: c.at, change: { kind: "changed" as const, resource: present(c.record) } }
            : { at: c.at, change: { kind: "deleted" as const, resource: { id: c.id, provider: c.provider, resource: c.resource, name: c.name } } },
        ),
      };
    }),
    handler(historyRequests.events, async ({ scope, id, limit }) => listHistory(deps, scope, id, limit ?? HISTORY_KEPT_PER_RESOURCE)),
    handler(resourceRequests.listTypes, async ({ scope, provider }) => {
      const types = await deps.types.list(scope);
      return { types: provider === undefined ? types : types.filter((t) => t.provider === provider) };
    }),
  );
}
