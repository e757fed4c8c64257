import type { CreateProjectBody, Project } from "@pragma/contracts";
import { registryEvents } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { newId } from "@pragma/ids";
import type { Cipher as PasswordCipher } from "@pragma/crypto";
import { UniqueViolation, type DatabaseProbe, type OrgRepository, type ProjectRepository, type Transactor } from "../ports";
import { presentProject } from "./present";
import { sealDatabases, verifyDatabases } from "./seal-databases";

export interface CreateProjectDeps {
  orgs: OrgRepository;
  projects: ProjectRepository;
  cipher: PasswordCipher;
  tx: Transactor;
  probe: DatabaseProbe;
}

/**
 * Idempotent on (org, abbreviation): a retry gets the stored project with its
 * default space_id (208) instead of an error, so a client can carry on. The
 * unique constraint, not the pre-read, decides concurrent creates.
 */
export async function createProject(
  deps: CreateProjectDeps,
  input: { org_id: string; body: CreateProjectBody; verify: boolean },
): Promise<{ created: boolean; project: Project }> {
  const { org_id, body } = input;
  const org = await deps.orgs.findById(org_id);
  if (!org) throw new AppError("NOT_FOUND", "Organization not found");

  const existing = await deps.projects.findByAbbreviation(org_id, body.abbreviation);
  if (existing) return { created: false, project: presentProject(existing) };

  if (input.verify) await verifyDatabases(deps.probe, body.database);

  const databases = sealDatabases(deps.cipher, body.database);
  let project: Project;
  try {
    project = await deps.tx.run(async (tx) => {
      const stored = await tx.projects.insertWithDefaultSpace({
        project_id: newId("project"),
        default_space_id: newId("space"),
        org_id,
        name: body.name,
        abbreviation: body.abbreviation,
        description: body.description ?? null,
        databases,
      });
      const created = presentProject(stored);
      await tx.events.add(registryEvents.projectCreated, { project: created }, { orgId: org_id, projectId: created.project_id, spaceId: created.space_id });
      return created;
    });
  } catch (err) {
    if (!(err instanceof UniqueViolation)) throw err;
    const winner = await deps.projects.findByAbbreviation(org_id, body.abbreviation);
    if (winner) return { created: false, project: presentProject(winner) };
    throw err;
  }
  return { created: true, project };
}
