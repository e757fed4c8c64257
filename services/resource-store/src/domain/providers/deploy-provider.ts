import { AppError } from "@pragma/errors";
import type { DeploymentStatus, TypeDefinition } from "@pragma/contracts";
import { presentDeployment } from "./present";
import type { ProviderDeps, ProviderKey } from "./deps";

/**
 * Deploys a successful build (default: the latest one); an older version is the rollback.
 * Workers pick the new version for events they take from then on (see the worker README).
 */
export async function deployProvider(deps: ProviderDeps, key: ProviderKey & { version?: string | undefined }, opts: { ping?: boolean } = {}): Promise<DeploymentStatus> {
  const p = await deps.providers.getProvider(key.org_id, key.provider_id);
  if (!p) throw new AppError("NOT_FOUND", `Provider not found: ${key.provider_id}`);
  if (p.deleting) throw new AppError("CONFLICT", `Provider ${key.provider_id} is being deleted`);
  let version = key.version;
  if (version === undefined) {
    const latest = (await deps.providers.listBuilds(key.org_id, key.provider_id, 1000)).find((b) => b.status === "success");
    if (!latest) throw new AppError("NOT_FOUND", `Provider ${key.provider_id} has no successful build`);
    version = latest.version;
  } else {
    const b = await deps.providers.getBuild(key.org_id, key.provider_id, version);
    if (!b) throw new AppError("NOT_FOUND", `Build not found: ${key.provider_id} ${version}`);
    if (b.status !== "success") throw new AppError("BAD_REQUEST", `Build ${version} is ${b.status}, not success: only a successful build can be deployed`);
  }
  const d = await deps.providers.setDeployment(key.org_id, key.provider_id, version, deps.clock.now());
  deps.onTypesChanged(key.org_id);
  const healthy = opts.ping === false ? false : await deps.pingWorker({ org_id: key.org_id, provider_id: key.provider_id, version });
  return presentDeployment(d, healthy);
}

export async function getDeployment(deps: ProviderDeps, key: ProviderKey): Promise<DeploymentStatus> {
  const d = await deps.providers.getDeployment(key.org_id, key.provider_id);
  if (!d) throw new AppError("NOT_FOUND", `Provider ${key.provider_id} is not deployed`);
  return presentDeployment(d, await deps.pingWorker({ org_id: key.org_id, provider_id: key.provider_id, version: d.version }));
}

/** A worker asks which version of an org's provider runs new events. */
export async function resolveDeployment(deps: ProviderDeps, key: ProviderKey): Promise<{ version: string; types: TypeDefinition[] }> {
  const d = await deps.providers.getDeployment(key.org_id, key.provider_id);
  if (!d) throw new AppError("NOT_FOUND", `Provider ${key.provider_id} is not deployed`);
  const types = await deps.providers.buildTypes(key.org_id, key.provider_id, d.version);
  return { version: d.version, types: types ?? [] };
}
