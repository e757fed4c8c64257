import { HTTP_HEADERS, RPC_QUEUES, registryRequests, type Org, type TenantScope } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { Bus } from "./ports";
import type { Principal } from "../auth/tokens";
import { TtlCache } from "./ttl-cache";

function headerValue(v: string | string[] | undefined): string | null {
  const s = (Array.isArray(v) ? v[0] : v)?.trim();
  return s ? s : null;
}

/**
 * Decides which (org, project, space) a request runs in. The org always comes from
 * the token; project and space from headers, falling back to the token's defaults.
 * The registry validates that the pair belongs to the org (NOT_FOUND otherwise),
 * and positive answers are cached briefly: scope ownership never changes, only
 * deletion could invalidate it.
 */
export class Tenancy {
  private readonly scopes: TtlCache<TenantScope>;
  private readonly orgs: TtlCache<Org>;

  constructor(
    private readonly bus: Bus,
    opts: { scopeCacheMs: number; orgCacheMs: number },
  ) {
    this.scopes = new TtlCache(opts.scopeCacheMs);
    this.orgs = new TtlCache(opts.orgCacheMs);
  }

  getOrg(orgId: string): Promise<Org> {
    return this.orgs.getOrLoad(orgId, () => this.bus.call(RPC_QUEUES.registry, registryRequests.getOrg, { org_id: orgId }));
  }

  /** After a change made through this replica; other replicas see it when their entry expires. */
  forgetOrg(orgId: string): void {
    this.orgs.delete(orgId);
  }

  async resolveScope(principal: Principal, headers: Record<string, string | string[] | undefined>): Promise<TenantScope> {
    const headerProject = headerValue(headers[HTTP_HEADERS.projectId]);
    const headerSpace = headerValue(headers[HTTP_HEADERS.spaceId]);
    const projectId = headerProject ?? principal.projectId;
    if (!projectId) throw new AppError("BAD_REQUEST", "X-Project-Id header is required");
    // The token's default space belongs to the token's project; for another project, use that project's default space.
    const spaceId = headerSpace ?? (projectId === principal.projectId ? principal.spaceId : null);
    const key = `${principal.orgId}\u0000${projectId}\u0000${spaceId ?? ""}`;
    return this.scopes.getOrLoad(key, () =>
      this.bus.call(RPC_QUEUES.registry, registryRequests.resolveScope, { org_id: principal.orgId, project_id: projectId, space_id: spaceId }),
    );
  }
}
