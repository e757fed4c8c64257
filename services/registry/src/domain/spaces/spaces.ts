import type { Space } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { newId } from "@pragma/ids";
import type { ProjectRepository, SpaceRepository, StoredProject, StoredSpace } from "../ports";

function present(space: StoredSpace, project: StoredProject): Space {
  return { ...space, is_default: space.space_id === project.space_id };
}

async function projectOf(deps: { projects: ProjectRepository }, orgId: string, projectId: string): Promise<StoredProject> {
  const project = await deps.projects.findById(orgId, projectId);
  if (!project) throw new AppError("NOT_FOUND", "Project not found");
  return project;
}

export async function createSpace(
  deps: { projects: ProjectRepository; spaces: SpaceRepository },
  input: { org_id: string; project_id: string; body: { name: string; description?: string | undefined } },
): Promise<Space> {
  const project = await projectOf(deps, input.org_id, input.project_id);
  const space = await deps.spaces.insert({
    space_id: newId("space"),
    project_id: project.project_id,
    org_id: project.org_id,
    name: input.body.name,
    description: input.body.description ?? null,
  });
  return present(space, project);
}

export async function listSpaces(deps: { projects: ProjectRepository; spaces: SpaceRepository }, input: { org_id: string; project_id: string }): Promise<Space[]> {
  const project = await projectOf(deps, input.org_id, input.project_id);
  return (await deps.spaces.listByProject(project.project_id)).map((s) => present(s, project));
}
