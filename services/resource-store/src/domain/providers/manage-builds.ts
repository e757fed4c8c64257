import { AppError } from "@pragma/errors";
import type { BuildInfo, TypeDefinition } from "@pragma/contracts";
import { presentBuild } from "./present";
import { deployProvider } from "./deploy-provider";
import type { ProviderDeps, ProviderKey, VersionKey } from "./deps";

const notFound = (key: ProviderKey) => new AppError("NOT_FOUND", `Provider not found: ${key.provider_id}`);

async function requireProvider(deps: ProviderDeps, key: ProviderKey): Promise<void> {
  if (!(await deps.providers.getProvider(key.org_id, key.provider_id))) throw notFound(key);
}

export async function listBuilds(deps: ProviderDeps, key: ProviderKey): Promise<{ builds: BuildInfo[] }> {
  const builds = await deps.providers.listBuilds(key.org_id, key.provider_id, 10);
  if (builds.length === 0) await requireProvider(deps, key);
  return { builds: builds.map(presentBuild) };
}

export async function getBuild(deps: ProviderDeps, key: VersionKey): Promise<BuildInfo> {
  const b = await deps.providers.getBuild(key.org_id, key.provider_id, key.version);
  if (!b) throw new AppError("NOT_FOUND", `Build not found: ${key.provider_id} ${key.version}`);
  return presentBuild(b);
}

export async function getBuildLogs(deps: ProviderDeps, key: VersionKey): Promise<{ log: string }> {
  const log = await deps.providers.buildLog(key.org_id, key.provider_id, key.version);
  if (log === null) throw new AppError("NOT_FOUND", `Build not found: ${key.provider_id} ${key.version}`);
  return { log };
}

/** A worker's chunk request for the tarball it builds. */
export async function getBuildSource(deps: ProviderDeps, key: VersionKey & { seq: number }): Promise<{ data: string; chunks: number }> {
  const c = await deps.providers.chunk(key.org_id, key.provider_id, key.version, key.seq);
  if (!c) throw new AppError("NOT_FOUND", `No chunk ${key.seq} for ${key.provider_id} ${key.version}`);
  return { data: c.data.toString("base64"), chunks: c.chunks };
}

export async function getArtifact(deps: ProviderDeps, key: VersionKey): Promise<{ bundle: string }> {
  const bundle = await deps.providers.bundle(key.org_id, key.provider_id, key.version);
  if (bundle === null) throw new AppError("NOT_FOUND", `No successful build ${key.provider_id} ${key.version}`);
  return { bundle };
}

/** A worker reports a build's progress or outcome; a success pushed with deploy=true is deployed. */
export async function reportBuild(
  deps: ProviderDeps,
  r: VersionKey & { status: "building" | "success" | "failed"; error_message?: string | null | undefined; log?: string | undefined; bundle?: string | undefined; types?: TypeDefinition[] | undefined },
): Promise<Record<string, never>> {
  const change = {
    status: r.status,
    ...(r.error_message !== undefined ? { errorMessage: r.error_message } : {}),
    ...(r.log !== undefined ? { log: r.log } : {}),
    ...(r.bundle !== undefined ? { bundle: r.bundle } : {}),
    ...(r.types !== undefined ? { types: r.types } : {}),
  };
  const b = await deps.providers.updateBuild(r.org_id, r.provider_id, r.version, change, deps.clock.now());
  if (!b) throw new AppError("NOT_FOUND", `Build not found: ${r.provider_id} ${r.version}`);
  if (b.status === "success" && b.deployOnSuccess) await deployProvider(deps, { org_id: r.org_id, provider_id: r.provider_id, version: r.version }, { ping: false });
  return {};
}
