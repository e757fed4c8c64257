import { createLogger, runService } from "@pragma/logger";
import { readConfig } from "./config";
import { startGateway } from "./service";

runService("gateway", async () => {
  const config = readConfig();
  const logger = createLogger({ service: "gateway", level: config.logLevel });
  if (config.serverKeyGenerated) {
    // Printed once, to stdout and outside the JSON log stream, so a developer can copy it.
    process.stdout.write(
      `\n  PRAGMA_SERVER_KEY was not set; generated for this run (development only):\n\n    ${config.serverKey}\n\n  Set PRAGMA_SERVER_KEY to keep it stable across restarts.\n\n`,
    );
  }
  const gateway = await startGateway(config, { logger });
  return { logger, stop: () => gateway.stop() };
});
