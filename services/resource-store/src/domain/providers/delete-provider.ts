import { AppError } from "@pragma/errors";
import { BUILTIN_PROVIDERS, type ProviderSummary } from "@pragma/contracts";
import { deleteResource } from "../resources/delete-resource";
import type { ProviderDeps, ProviderKey } from "./deps";

export async function listProviders(deps: ProviderDeps, key: { org_id: string }): Promise<{ providers: ProviderSummary[] }> {
  const own = await deps.providers.listProviders(key.org_id);
  const builtins: ProviderSummary[] = BUILTIN_PROVIDERS.map((id) => ({ provider_id: id, current_version: null, deployment_status: "builtin", updated_at: null, builtin: true }));
  return {
    providers: [
      ...builtins,
      ...own.map((p) => ({
        provider_id: p.providerId,
        current_version: p.deployment?.version ?? null,
        deployment_status: p.deleting ? "deleting" : (p.deployment?.status ?? "not_deployed"),
        updated_at: (p.deployment?.updatedAt ?? p.updatedAt).toISOString(),
      })),
    ],
  };
}

/**
 * Without cascade: 409 while the org has resources of the provider. With cascade: each
 * resource is deleted through the lifecycle (the provider's delete hooks run on the
 * deployed version); the provider is marked deleting (no new applies, pushes or deploys)
 * and its deployment and builds go once its last resource is gone (the store's finalizer).
 */
export async function deleteProvider(deps: ProviderDeps, key: ProviderKey & { cascade: boolean }): Promise<{ provider_id: string; deployment_deleted: boolean; resources_deleted: number }> {
  const p = await deps.providers.getProvider(key.org_id, key.provider_id);
  if (!p) throw new AppError("NOT_FOUND", `Provider not found: ${key.provider_id}`);
  const resources = await deps.providers.providerResources(key.org_id, key.provider_id);
  if (resources.length === 0) {
    const deploymentDeleted = await deps.providers.deleteProvider(key.org_id, key.provider_id);
    deps.onTypesChanged(key.org_id);
    return { provider_id: key.provider_id, deployment_deleted: deploymentDeleted, resources_deleted: 0 };
  }
  if (!key.cascade) {
    throw new AppError("CONFLICT", `Provider ${key.provider_id} has ${resources.length} resource${resources.length === 1 ? "" : "s"}; delete them first or pass cascade=true`);
  }
  await deps.providers.markDeleting(key.org_id, key.provider_id);
  deps.onTypesChanged(key.org_id);
  let deleted = 0;
  for (const r of resources) {
    // Busy ones finish their event first; a repeated cascade call picks them up.
    if (r.lifecycleState === "pending" || r.lifecycleState === "processing") continue;
    try {
      // force: the cascade deletes the provider's resources whatever depends on them (spec §6).
      await deleteResource(deps.resources, r.scope, r.resourceId, { force: true });
      deleted++;
    } catch (err) {
      // Owned by a resource deleted just before (its delete covered this one), or busy meanwhile.
      if (!(err instanceof AppError && err.code === "CONFLICT")) throw err;
    }
  }
  return { provider_id: key.provider_id, deployment_deleted: false, resources_deleted: deleted };
}
