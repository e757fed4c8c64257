import type { NewProject, ProjectPatch, ProjectRepository, StoredDatabase, StoredProject } from "../domain/ports";
import type { Prisma, ProjectDatabase } from "../generated/prisma/client";
import { newUlid } from "@pragma/ids";
import { atomically, iso, mapUnique, type Client } from "./prisma";

const withDatabases = { databases: { orderBy: { position: "asc" } } } as const satisfies Prisma.ProjectInclude;
type ProjectRow = Prisma.ProjectGetPayload<{ include: typeof withDatabases }>;

function toDatabase(d: ProjectDatabase): StoredDatabase {
  return {
    host: d.host,
    port: d.port,
    username: d.username,
    db_name: d.dbName,
    db_type: d.dbType as StoredDatabase["db_type"],
    connect_timeout_secs: d.connectTimeoutSecs,
    idle_timeout_secs: d.idleTimeoutSecs,
    max_open_connections: d.maxOpenConnections,
    max_idle_connections: d.maxIdleConnections,
    password_ciphertext: d.passwordCiphertext,
  };
}

function toProject(r: ProjectRow): StoredProject {
  return {
    project_id: r.id,
    org_id: r.orgId,
    space_id: r.defaultSpaceId,
    name: r.name,
    abbreviation: r.abbreviation,
    description: r.description,
    databases: r.databases.map(toDatabase),
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}

function databaseRows(databases: StoredDatabase[]): Prisma.ProjectDatabaseCreateWithoutProjectInput[] {
  return databases.map((d, position) => ({
    id: `pdb_${newUlid()}`,
    position,
    host: d.host,
    port: d.port,
    username: d.username,
    passwordCiphertext: d.password_ciphertext,
    dbName: d.db_name,
    dbType: d.db_type,
    connectTimeoutSecs: d.connect_timeout_secs,
    idleTimeoutSecs: d.idle_timeout_secs,
    maxOpenConnections: d.max_open_connections,
    maxIdleConnections: d.max_idle_connections,
  }));
}

export class PrismaProjectRepository implements ProjectRepository {
  constructor(private readonly db: Client) {}

  async insertWithDefaultSpace(p: NewProject): Promise<StoredProject> {
    // One nested create is one transaction: project, databases and default space land together or not at all.
    const row = await mapUnique(() =>
      this.db.project.create({
        data: {
          id: p.project_id,
          orgId: p.org_id,
          name: p.name,
          abbreviation: p.abbreviation,
          description: p.description,
          defaultSpaceId: p.default_space_id,
          databases: { create: databaseRows(p.databases) },
          spaces: { create: { id: p.default_space_id, orgId: p.org_id, name: "default", description: "Created with the project" } },
        },
        include: withDatabases,
      }),
    );
    return toProject(row);
  }

  async findById(orgId: string, projectId: string): Promise<StoredProject | null> {
    const row = await this.db.project.findFirst({ where: { id: projectId, orgId }, include: withDatabases });
    return row ? toProject(row) : null;
  }

  async findByAbbreviation(orgId: string, abbreviation: string): Promise<StoredProject | null> {
    const row = await this.db.project.findUnique({ where: { orgId_abbreviation: { orgId, abbreviation } }, include: withDatabases });
    return row ? toProject(row) : null;
  }

  async listByOrg(orgId: string): Promise<StoredProject[]> {
    const rows = await this.db.project.findMany({ where: { orgId }, include: withDatabases, orderBy: { id: "asc" } });
    return rows.map(toProject);
  }

  async update(orgId: string, projectId: string, patch: ProjectPatch): Promise<StoredProject | null> {
    return mapUnique(() =>
      atomically(this.db, async (tx) => {
        const { count } = await tx.project.updateMany({
          where: { id: projectId, orgId },
          data: {
            ...(patch.name !== undefined ? { name: patch.name } : {}),
            ...(patch.description !== undefined ? { description: patch.description } : {}),
            updatedAt: new Date(),
          },
        });
        if (count === 0) return null;
        if (patch.databases) {
          await tx.projectDatabase.deleteMany({ where: { projectId } });
          await tx.projectDatabase.createMany({ data: databaseRows(patch.databases).map((d) => ({ ...d, projectId })) });
        }
        const row = await tx.project.findUniqueOrThrow({ where: { id: projectId }, include: withDatabases });
        return toProject(row);
      }),
    );
  }

  async listCiphertexts(): Promise<{ id: string; password_ciphertext: string }[]> {
    const rows = await this.db.projectDatabase.findMany({ select: { id: true, passwordCiphertext: true }, orderBy: { id: "asc" } });
    return rows.map((r) => ({ id: r.id, password_ciphertext: r.passwordCiphertext }));
  }

  async replaceCiphertext(id: string, expected: string, next: string): Promise<boolean> {
    const { count } = await this.db.projectDatabase.updateMany({ where: { id, passwordCiphertext: expected }, data: { passwordCiphertext: next } });
    return count === 1;
  }
}
