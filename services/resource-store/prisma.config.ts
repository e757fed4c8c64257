import { defineConfig } from "prisma/config";

// Prisma 7 keeps connection settings out of the schema. Only `prisma generate` runs
// here (migrations are applied by the service itself, see @pragma/db).
export default defineConfig({ schema: "prisma/schema.prisma" });
