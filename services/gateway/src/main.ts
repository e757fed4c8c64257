import { createLogger } from "@pragma/logger";
import { readConfig } from "./config";
import { startGateway } from "./service";

async function main(): Promise<void> {
  const config = readConfig();
  const logger = createLogger({ service: "gateway", level: config.logLevel });
  if (config.serverKeyGenerated) {
    // Printed once, to stdout and outside the JSON log stream, so a developer can copy it.
    process.stdout.write(
      `\n  PRAGMA_SERVER_KEY was not set; generated for this run (development only):\n\n    ${config.serverKey}\n\n  Set PRAGMA_SERVER_KEY to keep it stable across restarts.\n\n`,
    );
  }
  const gateway = await startGateway(config, { logger });
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, "shutting down");
    gateway.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => shutdown("SIGTERM"));
  process.on("SIGINT", () => shutdown("SIGINT"));
}

main().catch((err: unknown) => {
  process.stderr.write(`gateway failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
