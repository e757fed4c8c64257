import type { Project } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { OrgRepository, ProjectRepository } from "../ports";
import { presentProject } from "./present";

export async function getProject(deps: { projects: ProjectRepository }, orgId: string, projectId: string): Promise<Project> {
  const stored = await deps.projects.findById(orgId, projectId);
  if (!stored) throw new AppError("NOT_FOUND", "Project not found");
  return presentProject(stored);
}

export async function listProjects(deps: { orgs: OrgRepository; projects: ProjectRepository }, orgId: string): Promise<Project[]> {
  if (!(await deps.orgs.findById(orgId))) throw new AppError("NOT_FOUND", "Organization not found");
  return (await deps.projects.listByOrg(orgId)).map(presentProject);
}
