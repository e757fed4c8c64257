import { AppError } from "@pragma/errors";
import type { ResourceStatus, TenantScope } from "@pragma/contracts";
import type { ResourceRecord } from "./model";
import type { ResourceRepository } from "./ports";
import { normalizeResourceId } from "./resource-id";

export async function getResource(deps: { repo: ResourceRepository }, scope: TenantScope, rawId: string): Promise<ResourceRecord> {
  const id = normalizeResourceId(rawId);
  const found = id ? await deps.repo.readInScope(scope, (tx) => tx.getResource(id)) : null;
  if (!found) throw new AppError("NOT_FOUND", `Resource not found: ${describeId(rawId, found)}`);
  return found;
}

export async function getResourceStatus(deps: { repo: ResourceRepository }, scope: TenantScope, rawId: string): Promise<ResourceStatus> {
  const r = await getResource(deps, scope, rawId);
  return { resource_id: r.resourceId, lifecycle_state: r.lifecycleState, error: r.error };
}

/**
 * The spec's message names "provider/resource/name". Legacy forms carry the parts. The
 * stored form is shown split for reading only: the provider cannot contain "_", the
 * type is taken as the shortest candidate (a type with "_" in it may display as part of
 * the name); identity itself is never derived from this.
 */
function describeId(rawId: string, _found: null): string {
  let id = rawId;
  try {
    id = decodeURIComponent(rawId);
  } catch {
    // keep it raw
  }
  if (id.includes("/")) return id;
  if (!id.startsWith("resource:")) return id.split(":").length >= 3 ? id.split(":").join("/") : id;
  const m = id.slice("resource:".length).match(/^([a-z][a-z0-9-]*)_([a-z][a-z0-9-]*)_(.+)$/);
  return m ? `${m[1]}/${m[2]}/${m[3]}` : id.slice("resource:".length);
}
