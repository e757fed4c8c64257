// Prisma 7 keeps the connection out of schema.prisma. Only the CLI reads this file
// (generate, and migrate where the schema engine is available); the service builds
// its client from config with the pg adapter.
import { defineConfig } from "prisma/config";

export default defineConfig({
  schema: "prisma/schema.prisma",
  migrations: { path: "prisma/migrations" },
  datasource: { url: process.env.DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/pragma?schema=registry" },
});
