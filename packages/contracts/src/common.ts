import { z } from "zod";

export const SLUG_RE = /^[a-z][a-z0-9-]{0,31}$/;
export const slug = () => z.string().regex(SLUG_RE, "must be a lowercase slug: a letter, then letters, digits or '-', at most 32 characters");
export const timestamp = () => z.string().datetime({ offset: true });
export const nonEmpty = () => z.string().trim().min(1, "must not be empty");

/** Tenant scope carried by every resource-store request. */
export const TenantScope = z.object({
  org_id: z.string(),
  project_id: z.string(),
  space_id: z.string(),
});
export type TenantScope = z.infer<typeof TenantScope>;

export const ROLES = ["admin", "member", "operator"] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** The resource a message to a worker is about, and its tenant (work and observations alike). */
export const WorkTarget = z.object({
  resource_id: z.string(),
  provider: z.string(),
  resource_type: z.string(),
  resource_name: z.string(),
  org_id: z.string(),
  project_id: z.string(),
  space_id: z.string(),
});
export type WorkTarget = z.infer<typeof WorkTarget>;
