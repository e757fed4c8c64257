// Platformatic DB (@platformatic/db 2.x, a bench-only devDependency; 3.x needs Node 22)
// over the bench's database, as a Node user would run it: REST and GraphQL generated from
// the schema, no auth. Prints `READY <port>` for child.ts.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { buildServer } = require("@platformatic/db") as { buildServer(config: unknown): Promise<{ start(): Promise<string>; close(): Promise<void> }> };

async function main() {
  const connectionString = process.env.PLATFORMATIC_DATABASE_URL;
  if (!connectionString) throw new Error("PLATFORMATIC_DATABASE_URL is required");
  const app = await buildServer({
    server: { hostname: "127.0.0.1", port: 0, logger: { level: process.env.PLATFORMATIC_LOG_LEVEL ?? "warn" } },
    db: {
      connectionString,
      poolSize: Number(process.env.PLATFORMATIC_POOL_SIZE ?? 10),
      graphql: true,
      openapi: true,
      limit: { default: 100, max: 1000 },
    },
  });
  const url = await app.start();
  process.stdout.write(`READY ${new URL(url).port}\n`);
  const stop = async () => {
    await app.close();
    process.exit(0);
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => {
  process.stderr.write(`${err?.stack ?? err}\n`);
  process.exit(1);
});
