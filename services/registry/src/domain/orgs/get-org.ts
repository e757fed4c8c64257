import type { Org } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { OrgRepository } from "../ports";

export async function getOrg(deps: { orgs: OrgRepository }, orgId: string): Promise<Org> {
  const org = await deps.orgs.findById(orgId);
  if (!org) throw new AppError("NOT_FOUND", "Organization not found");
  return org;
}
