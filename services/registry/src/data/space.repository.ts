import type { SpaceRepository, StoredSpace } from "../domain/ports";
import type { Space as SpaceRow } from "../generated/prisma/client";
import { iso, type Client } from "./prisma";

function toSpace(r: SpaceRow): StoredSpace {
  return { space_id: r.id, project_id: r.projectId, org_id: r.orgId, name: r.name, description: r.description, created_at: iso(r.createdAt) };
}

export class PrismaSpaceRepository implements SpaceRepository {
  constructor(private readonly db: Client) {}

  async insert(s: Omit<StoredSpace, "created_at">): Promise<StoredSpace> {
    return toSpace(await this.db.space.create({ data: { id: s.space_id, projectId: s.project_id, orgId: s.org_id, name: s.name, description: s.description } }));
  }

  async findById(spaceId: string): Promise<StoredSpace | null> {
    const row = await this.db.space.findUnique({ where: { id: spaceId } });
    return row ? toSpace(row) : null;
  }

  async listByProject(projectId: string): Promise<StoredSpace[]> {
    return (await this.db.space.findMany({ where: { projectId }, orderBy: { id: "asc" } })).map(toSpace);
  }
}
