import { createLogger, runService } from "@pragma/logger";
import { readConfig } from "./config";
import { startResourceStore } from "./service";

runService("resource-store", async () => {
  const config = readConfig();
  const logger = createLogger({ service: "resource-store", level: config.logLevel });
  const store = await startResourceStore(config, { logger });
  return { logger, stop: () => store.stop() };
});
