import type { CreateOrgBody, Org } from "@pragma/contracts";
import { registryEvents } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import { isUlid } from "@pragma/ids";
import { UniqueViolation, type OrgRepository, type Transactor } from "../ports";

export interface CreateOrgDeps {
  orgs: OrgRepository;
  tx: Transactor;
}

/**
 * Idempotent on org_id (seed 000: a repeated create is 208, safe to proceed). The
 * unique constraints decide races: concurrent identical creates all try the insert,
 * one wins, the rest catch the violation and re-read the winner's row. The event is
 * written in the insert's transaction, so a lost race publishes nothing.
 */
export async function createOrg(deps: CreateOrgDeps, body: CreateOrgBody): Promise<{ created: boolean; org: Org }> {
  if (!isUlid(body.org_id)) {
    throw new AppError("VALIDATION_FAILED", [{ loc: ["body", "org_id"], msg: "must be a valid ULID", type: "value_error" }]);
  }
  const existing = await deps.orgs.findById(body.org_id);
  if (existing) return { created: false, org: existing };

  let org: Org;
  try {
    org = await deps.tx.run(async (tx) => {
      const inserted = await tx.orgs.insert(body);
      await tx.events.add(registryEvents.orgCreated, { org: inserted }, { orgId: inserted.org_id });
      return inserted;
    });
  } catch (err) {
    if (!(err instanceof UniqueViolation)) throw err;
    const winner = await deps.orgs.findById(body.org_id);
    if (winner) return { created: false, org: winner };
    // The id is free, so the abbreviation is what collided.
    throw new AppError("CONFLICT", `Abbreviation "${body.abbreviation}" is already used by another organization`);
  }
  return { created: true, org };
}
