import type { ResourceDefinition, TenantScope, TypeDefinition } from "@pragma/contracts";
import type { TypeCatalog } from "../domain/resources/ports";

/**
 * Built-in types (from the workers) plus the org's deployed pushed providers' types,
 * cached per org for `ttlMs` (every pending apply validates against this); a deploy or
 * delete on this replica drops the org's copy at once, other replicas within the TTL.
 */
export class OrgTypeCatalog implements TypeCatalog {
  private readonly cache = new Map<string, { at: number; types: ResourceDefinition[] }>();

  constructor(
    private readonly builtin: TypeCatalog,
    private readonly deployed: (orgId: string) => Promise<TypeDefinition[]>,
    private readonly ttlMs: number,
  ) {}

  async list(scope: TenantScope): Promise<ResourceDefinition[]> {
    const builtin = await this.builtin.list(scope);
    const hit = this.cache.get(scope.org_id);
    let own: ResourceDefinition[];
    if (hit && Date.now() - hit.at < this.ttlMs) own = hit.types;
    else {
      own = (await this.deployed(scope.org_id)).map(({ provider, resource, description, schema, outputs_schema, tags }) => ({ provider, resource, description, schema, outputs_schema, tags }));
      this.cache.set(scope.org_id, { at: Date.now(), types: own });
    }
    if (own.length === 0) return builtin;
    return [...builtin, ...own].sort((a, b) => cmp(a.provider, b.provider) || cmp(a.resource, b.resource));
  }

  invalidate(orgId: string): void {
    this.cache.delete(orgId);
  }
}

const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
