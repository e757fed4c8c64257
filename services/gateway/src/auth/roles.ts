import type { Role } from "@pragma/contracts";

/** Roles are nested: operator can do what member can, admin what operator can. */
const RANK: Record<Role, number> = { member: 1, operator: 2, admin: 3 };

export function roleAllows(held: Role, required: Role): boolean {
  return RANK[held] >= RANK[required];
}
