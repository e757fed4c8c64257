import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client";
import type { Pool } from "./pg";

export type { PrismaClient };

/** A Prisma client on the store's pool (see pg.ts): one set of connections for the whole service. */
export function createPrisma(pool: Pool, schema: string): PrismaClient {
  // The adapter's schema option qualifies Prisma's own queries; the pool's search_path
  // makes raw SQL land in the same schema.
  return new PrismaClient({ adapter: new PrismaPg(pool, { schema }) });
}
