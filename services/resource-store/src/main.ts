import { createLogger } from "@pragma/logger";
import { readConfig } from "./config";
import { startResourceStore } from "./service";

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ service: "resource-store", level: config.LOG_LEVEL });
  const store = await startResourceStore(config, { logger });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    store.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err) => {
  process.stderr.write(`resource-store failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
