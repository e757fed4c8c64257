import { AppError } from "@pragma/errors";
import type { TenantScope } from "@pragma/contracts";
import type { ResourceRecord } from "./model";
import type { Clock, StoreTx } from "./ports";
import type { ApplyDeps } from "./apply-resource";
import { Lifecycle } from "./lifecycle";
import { normalizeResourceId, slashName } from "./resource-id";
import { BUSY_MESSAGE } from "./transitions";
import { recallAnswer, recordAnswer, reviveRecord, type RequestKey } from "./repeated-requests";

export interface DeleteOptions {
  /** Delete even though other resources depend on it (their references then dangle). */
  force?: boolean | undefined;
}

/**
 * DELETE per spec §4 and §4.3: a missing resource is already deleted (null); one that was
 * never provisioned (a draft, or a failed first CREATE) is removed at once without a
 * provider call (null); anything else goes pending with a DELETE event. Owned resources
 * (owner_references) are deleted first: the owner's DELETE is held until the last of them
 * is gone. Resources outside that set which depend on it (dependencies or references)
 * make it a 409 naming them, unless `force`: then they keep their state and their
 * references dangle, except one still waiting for it to be ready, which fails (it would
 * wait forever).
 */
export async function deleteResource(
  deps: Pick<ApplyDeps, "repo" | "onEventWritten" | "correlationId" | "sealer"> & { clock: Clock },
  scope: TenantScope,
  rawId: string,
  opts: DeleteOptions = {},
  request?: RequestKey,
): Promise<ResourceRecord | null> {
  const id = normalizeResourceId(rawId);
  if (!id) return null;
  let lc: Lifecycle | undefined;
  const result = await deps.repo.inScope(scope, async (tx) => {
    // A repeat of a delete that already ran gets its first answer (not 409 "being processed").
    const prior = await recallAnswer(tx, request);
    if (prior) return (prior.answer as { resource: unknown }).resource ? reviveRecord((prior.answer as { resource: unknown }).resource) : null;
    const root = await tx.lockResource(id);
    if (!root) return null;
    lc = new Lifecycle(tx, deps.clock.now(), deps.correlationId?.() ?? null, deps.sealer);
    const order = await ownershipPostOrder(tx, root);
    const busy = order.find((r) => r.lifecycleState === "pending" || r.lifecycleState === "processing");
    if (busy) {
      throw new AppError("CONFLICT", busy.resourceId === root.resourceId ? BUSY_MESSAGE : `${BUSY_MESSAGE}: owned resource ${slashName(busy)} is being processed`);
    }
    const dependents = await outsideDependents(tx, order);
    if (dependents.length > 0 && !opts.force) throw dependentsConflict(root, dependents);
    for (const d of dependents) await lc.abandonWaiting(d.dependent, `Dependency ${slashName(d.of)} was deleted (force) before it became ready`);
    for (const r of order) {
      const fresh = await tx.lockResource(r.resourceId);
      if (!fresh) continue;
      if (await lc.delete(fresh)) await tx.updateResource(fresh);
    }
    const after = await tx.getResource(id);
    await recordAnswer(tx, request, { resource: after });
    return after;
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

/** Resources that depend on something in `doomed` and are not being deleted with it. */
async function outsideDependents(tx: StoreTx, doomed: ResourceRecord[]): Promise<{ dependent: ResourceRecord; of: ResourceRecord }[]> {
  const ids = new Set(doomed.map((r) => r.resourceId));
  const found = new Map<string, { dependent: ResourceRecord; of: ResourceRecord }>();
  for (const r of doomed) {
    for (const d of await tx.lockDependents(r.resourceId)) if (!ids.has(d.resourceId) && !found.has(d.resourceId)) found.set(d.resourceId, { dependent: d, of: r });
  }
  return [...found.values()].sort((a, b) => (a.dependent.resourceId < b.dependent.resourceId ? -1 : 1));
}

function dependentsConflict(root: ResourceRecord, dependents: { dependent: ResourceRecord }[]): AppError {
  const names = dependents.map((d) => slashName(d.dependent));
  return new AppError("CONFLICT", {
    message: `Cannot delete ${slashName(root)}: ${names.join(", ")} ${names.length === 1 ? "depends" : "depend"} on it; delete ${names.length === 1 ? "it" : "them"} first, or pass force=true to delete anyway (their references will dangle)`,
    dependents: dependents.map((d) => d.dependent.resourceId),
  });
}
