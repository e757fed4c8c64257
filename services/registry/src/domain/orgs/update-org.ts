import type { Org } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { OrgRepository, RateLimit } from "../ports";

/** Only the rate limit is mutable: the other fields are the org's identity from seed 000. */
export async function updateOrg(deps: { orgs: OrgRepository }, orgId: string, patch: { rate_limit?: RateLimit | null }): Promise<Org> {
  if (patch.rate_limit === undefined) {
    const org = await deps.orgs.findById(orgId);
    if (!org) throw new AppError("NOT_FOUND", "Organization not found");
    return org;
  }
  const org = await deps.orgs.setRateLimit(orgId, patch.rate_limit);
  if (!org) throw new AppError("NOT_FOUND", "Organization not found");
  return org;
}
