import type { DatabaseEntryInput, Project } from "@pragma/contracts";
import { registryEvents } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { Cipher as PasswordCipher } from "@pragma/crypto";
import type { DatabaseProbe, ProjectPatch, Transactor } from "../ports";
import { presentProject } from "./present";
import { sealDatabases, verifyDatabases } from "./seal-databases";

export interface UpdateProjectDeps {
  cipher: PasswordCipher;
  tx: Transactor;
  probe: DatabaseProbe;
}

/**
 * PATCH: name, description, and `database` replaced as a whole. Workers learn of
 * new connections from registry.project.updated.v1 and rebuild their pools; the event is
 * committed with the change (outbox), so a broker outage delays it but never loses it.
 */
export async function updateProject(
  deps: UpdateProjectDeps,
  input: { org_id: string; project_id: string; body: { name?: string; description?: string | null; database?: DatabaseEntryInput[] }; verify: boolean },
): Promise<Project> {
  const { org_id, project_id, body } = input;
  if (body.database && input.verify) await verifyDatabases(deps.probe, body.database);
  const patch: ProjectPatch = {};
  if (body.name !== undefined) patch.name = body.name;
  if (body.description !== undefined) patch.description = body.description;
  if (body.database !== undefined) patch.databases = sealDatabases(deps.cipher, body.database);
  return deps.tx.run(async (tx) => {
    const stored = await tx.projects.update(org_id, project_id, patch);
    if (!stored) throw new AppError("NOT_FOUND", "Project not found");
    const project = presentProject(stored);
    await tx.events.add(registryEvents.projectUpdated, { project }, { orgId: org_id, projectId: project_id, spaceId: project.space_id });
    return project;
  });
}
