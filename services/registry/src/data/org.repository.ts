import type { Org } from "@pragma/contracts";
import type { NewOrg, OrgRepository, RateLimit } from "../domain/ports";
import type { Org as OrgRow } from "../generated/prisma/client";
import { iso, mapUnique, type Client } from "./prisma";

function toOrg(r: OrgRow): Org {
  return {
    org_id: r.id,
    name: r.name,
    abbreviation: r.abbreviation,
    admin_email: r.adminEmail,
    admin_name: r.adminName,
    address: r.address,
    state: r.state,
    country: r.country,
    pin_code: r.pinCode,
    rate_limit: r.rateLimitRps !== null && r.rateLimitBurst !== null ? { requests_per_second: r.rateLimitRps, burst: r.rateLimitBurst } : null,
    created_at: iso(r.createdAt),
    updated_at: iso(r.updatedAt),
  };
}

export class PrismaOrgRepository implements OrgRepository {
  constructor(private readonly db: Client) {}

  async insert(org: NewOrg): Promise<Org> {
    const row = await mapUnique(() =>
      this.db.org.create({
        data: {
          id: org.org_id,
          name: org.name,
          abbreviation: org.abbreviation,
          adminEmail: org.admin_email,
          adminName: org.admin_name,
          address: org.address,
          state: org.state,
          country: org.country,
          pinCode: org.pin_code,
        },
      }),
    );
    return toOrg(row);
  }

  async findById(orgId: string): Promise<Org | null> {
    const row = await this.db.org.findUnique({ where: { id: orgId } });
    return row ? toOrg(row) : null;
  }

  async setRateLimit(orgId: string, rateLimit: RateLimit | null): Promise<Org | null> {
    const { count } = await this.db.org.updateMany({
      where: { id: orgId },
      data: { rateLimitRps: rateLimit?.requests_per_second ?? null, rateLimitBurst: rateLimit?.burst ?? null, updatedAt: new Date() },
    });
    return count === 0 ? null : this.findById(orgId);
  }
}
