import { z } from "zod";
import { HTTP_HEADERS } from "@pragma/contracts";

/** Documented request headers for routes that run in a project/space scope. */
export const TenancyHeaders = z.object({
  [HTTP_HEADERS.projectId]: z.string().optional().describe("Project to act in; defaults to the token's project."),
  [HTTP_HEADERS.spaceId]: z.string().optional().describe("Space to act in; defaults to the token's space, else the project's default space."),
});

export const OrgIdParams = z.object({ org_id: z.string().min(1) });
export const ProjectParams = z.object({ org_id: z.string().min(1), project_id: z.string().min(1) });
export const ResourceIdParams = z.object({ resource_id: z.string().min(1).max(512) });

/** A query flag: true/1 or false/0 (absent is false); anything else is 422 on the query. */
export const queryFlag = (description: string) =>
  z
    .enum(["true", "false", "1", "0"])
    .optional()
    .transform((v) => v === "true" || v === "1")
    .describe(description);
