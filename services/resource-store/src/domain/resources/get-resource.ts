import { AppError } from "@pragma/errors";
import type { TenantScope } from "@pragma/contracts";
import type { ResourceRecord } from "./model";
import type { ResourceRepository } from "./ports";
import { normalizeResourceId } from "./resource-id";

export async function getResource(deps: { repo: ResourceRepository }, scope: TenantScope, rawId: string): Promise<ResourceRecord> {
  const id = normalizeResourceId(rawId);
  const found = id ? await deps.repo.getResource(scope, id) : null;
  if (!found) throw new AppError("NOT_FOUND", `Resource not found: ${describeId(id ?? rawId)}`);
  return found;
}

/** "resource:p_t_n" is shown as the slash form users typed when we can tell it. */
function describeId(id: string): string {
  return id.startsWith("resource:") ? id.slice("resource:".length) : id;
}
