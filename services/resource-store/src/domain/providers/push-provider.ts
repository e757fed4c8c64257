import { AppError } from "@pragma/errors";
import { PROVIDER_ID_RE, isBuiltinProvider, type BuildInfo } from "@pragma/contracts";
import { presentBuild } from "./present";
import { versionAt, type ProviderDeps, type ProviderKey, type VersionKey } from "./deps";

/** A push starts: the id must be the org's to use; the build row stays invisible until committed. */
export async function beginPush(deps: ProviderDeps, key: ProviderKey): Promise<{ version: string }> {
  if (!PROVIDER_ID_RE.test(key.provider_id)) throw new AppError("VALIDATION_FAILED", `provider id must match ${PROVIDER_ID_RE.source}`);
  if (isBuiltinProvider(key.provider_id)) throw new AppError("CONFLICT", `Provider id "${key.provider_id}" is reserved for a built-in provider`);
  const existing = await deps.providers.getProvider(key.org_id, key.provider_id);
  if (existing?.deleting) throw new AppError("CONFLICT", `Provider ${key.provider_id} is being deleted`);
  const now = deps.clock.now();
  const version = await deps.providers.beginUpload(key.org_id, key.provider_id, (n) => versionAt(now, n), now);
  return { version };
}

export async function addPushChunk(deps: ProviderDeps, key: VersionKey & { seq: number; data: string }): Promise<Record<string, never>> {
  const ok = await deps.providers.addChunk(key.org_id, key.provider_id, key.version, key.seq, Buffer.from(key.data, "base64"));
  if (!ok) throw new AppError("NOT_FOUND", `No upload in progress for ${key.provider_id} ${key.version}`);
  return {};
}

/** The upload is complete and valid: the build becomes visible as pending and is queued. */
export async function commitPush(deps: ProviderDeps, key: VersionKey & { deploy: boolean }): Promise<BuildInfo> {
  const b = await deps.providers.commitUpload(key.org_id, key.provider_id, key.version, key.deploy, deps.clock.now());
  if (!b) throw new AppError("NOT_FOUND", `No upload in progress for ${key.provider_id} ${key.version}`);
  await deps.publishBuild({ org_id: key.org_id, provider_id: key.provider_id, version: key.version });
  return presentBuild(b);
}

export async function abortPush(deps: ProviderDeps, key: VersionKey): Promise<Record<string, never>> {
  await deps.providers.abortUpload(key.org_id, key.provider_id, key.version);
  return {};
}
