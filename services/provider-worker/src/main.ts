import { createLogger, runService } from "@pragma/logger";
import { readConfig } from "./config";
import { startWorker } from "./service";

runService("provider-worker", async () => {
  const config = readConfig();
  const logger = createLogger({ service: "provider-worker", level: config.logLevel });
  const worker = await startWorker(config, { logger });
  return { logger, stop: () => worker.stop() };
});
