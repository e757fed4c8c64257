import { createLogger, runService } from "@pragma/logger";
import { readConfig } from "./config";
import { startRegistry } from "./service";

runService("registry", async () => {
  const config = readConfig();
  const logger = createLogger({ service: "registry", level: config.logLevel });
  const registry = await startRegistry(config, { logger });
  return { logger, stop: () => registry.stop() };
});
