import { AppError } from "@pragma/errors";
import type { TenantScope } from "@pragma/contracts";
import type { ResourceRecord } from "./model";
import type { Clock, StoreTx } from "./ports";
import type { ApplyDeps } from "./apply-resource";
import { Lifecycle } from "./lifecycle";
import { normalizeResourceId, slashName } from "./resource-id";
import { BUSY_MESSAGE } from "./transitions";

/**
 * DELETE per spec §4: a missing resource is already deleted (null); a never-provisioned
 * draft is removed at once (null); anything else goes pending with a DELETE event.
 * Owned resources (owner_references) are deleted first: the owner's DELETE is held
 * until the last of them is gone.
 */
export async function deleteResource(deps: Pick<ApplyDeps, "repo" | "onEventWritten" | "correlationId" | "sealer"> & { clock: Clock }, scope: TenantScope, rawId: string): Promise<ResourceRecord | null> {
  const id = normalizeResourceId(rawId);
  if (!id) return null;
  let lc: Lifecycle | undefined;
  const result = await deps.repo.inScope(scope, async (tx) => {
    const root = await tx.lockResource(id);
    if (!root) return null;
    lc = new Lifecycle(tx, deps.clock.now(), deps.correlationId?.() ?? null, deps.sealer);
    const order = await ownershipPostOrder(tx, root);
    const busy = order.find((r) => r.lifecycleState === "pending" || r.lifecycleState === "processing");
    if (busy) {
      throw new AppError("CONFLICT", busy.resourceId === root.resourceId ? BUSY_MESSAGE : `${BUSY_MESSAGE}: owned resource ${slashName(busy)} is being processed`);
    }
    for (const r of order) {
      const fresh = await tx.lockResource(r.resourceId);
      if (!fresh) continue;
      if (!fresh.provisioned && fresh.lifecycleState === "draft" && (await tx.lockOwned(fresh.resourceId)).length === 0) {
        await tx.deleteResource(fresh.resourceId);
        continue;
      }
      await lc.queue(fresh, "DELETE");
      await tx.updateResource(fresh);
    }
    return tx.getResource(id);
  });
  if (lc?.released) deps.onEventWritten?.();
  return result;
}

/** The root and everything it owns, transitively, children before their owners. */
async function ownershipPostOrder(tx: StoreTx, root: ResourceRecord): Promise<ResourceRecord[]> {
  const out: ResourceRecord[] = [];
  const seen = new Set<string>();
  const visit = async (r: ResourceRecord): Promise<void> => {
    if (seen.has(r.resourceId)) return;
    seen.add(r.resourceId);
    for (const child of await tx.lockOwned(r.resourceId)) await visit(child);
    out.push(r);
  };
  await visit(root);
  return out;
}
