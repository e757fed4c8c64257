import { AppError } from "@pragma/errors";
import type { ProjectRepository, SpaceRepository } from "../ports";

/**
 * Every scoped request passes through here: ids from a token or a path are only
 * trusted once the project is known to be the org's and the space the project's.
 */
export async function resolveScope(
  deps: { projects: ProjectRepository; spaces: SpaceRepository },
  input: { org_id: string; project_id: string; space_id: string | null },
): Promise<{ org_id: string; project_id: string; space_id: string }> {
  const project = await deps.projects.findById(input.org_id, input.project_id);
  if (!project) throw new AppError("NOT_FOUND", "Project not found");
  if (input.space_id === null) return { org_id: input.org_id, project_id: project.project_id, space_id: project.space_id };
  const space = await deps.spaces.findById(input.space_id);
  if (!space || space.project_id !== project.project_id) throw new AppError("NOT_FOUND", "Space not found");
  return { org_id: input.org_id, project_id: project.project_id, space_id: space.space_id };
}
