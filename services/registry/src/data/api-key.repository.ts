import type { ApiKey, Role } from "@pragma/contracts";
import type { ApiKeyRepository, NewApiKey } from "../domain/ports";
import type { ApiKey as ApiKeyRow } from "../generated/prisma/client";
import { iso, type Client } from "./prisma";

function toApiKey(r: ApiKeyRow): ApiKey {
  return {
    key_id: r.id,
    org_id: r.orgId,
    name: r.name,
    role: r.role as Role,
    project_id: r.projectId,
    space_id: r.spaceId,
    prefix: r.prefix,
    created_at: iso(r.createdAt),
    revoked_at: r.revokedAt ? iso(r.revokedAt) : null,
  };
}

export class PrismaApiKeyRepository implements ApiKeyRepository {
  constructor(private readonly db: Client) {}

  async insert(k: NewApiKey): Promise<ApiKey> {
    const row = await this.db.apiKey.create({
      data: { id: k.key_id, orgId: k.org_id, name: k.name, role: k.role, projectId: k.project_id, spaceId: k.space_id, prefix: k.prefix, secretHash: k.secret_hash },
    });
    return toApiKey(row);
  }

  async findByHash(secretHash: string): Promise<{ key: ApiKey; org_name: string } | null> {
    const row = await this.db.apiKey.findUnique({ where: { secretHash }, include: { org: { select: { name: true } } } });
    return row ? { key: toApiKey(row), org_name: row.org.name } : null;
  }

  async listByOrg(orgId: string): Promise<ApiKey[]> {
    return (await this.db.apiKey.findMany({ where: { orgId }, orderBy: { id: "asc" } })).map(toApiKey);
  }

  async revoke(orgId: string, keyId: string): Promise<{ key: ApiKey; revokedNow: boolean } | null> {
    const { count } = await this.db.apiKey.updateMany({ where: { id: keyId, orgId, revokedAt: null }, data: { revokedAt: new Date() } });
    const row = await this.db.apiKey.findFirst({ where: { id: keyId, orgId } });
    return row ? { key: toApiKey(row), revokedNow: count === 1 } : null;
  }

  async listRevokedSince(since: Date): Promise<{ key_id: string; revoked_at: string }[]> {
    const rows = await this.db.apiKey.findMany({ where: { revokedAt: { gte: since } }, select: { id: true, revokedAt: true }, orderBy: { revokedAt: "asc" } });
    return rows.map((r) => ({ key_id: r.id, revoked_at: iso(r.revokedAt!) }));
  }
}
