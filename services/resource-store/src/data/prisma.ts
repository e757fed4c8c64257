import { PrismaPg } from "@prisma/adapter-pg";
import { PrismaClient } from "../generated/prisma/client";

export type { PrismaClient };

export function createPrisma(databaseUrl: string, schema: string, maxConnections = 10): PrismaClient {
  // The adapter's schema option qualifies Prisma's own queries only; search_path makes
  // the raw SQL (outbox claims, row locks) land in the same schema.
  const adapter = new PrismaPg(
    { connectionString: databaseUrl, max: maxConnections, options: `-c search_path=${schema}`, application_name: "resource-store" },
    { schema },
  );
  return new PrismaClient({ adapter });
}
