import { createLogger, runService } from "@pragma/logger";
import { loadWorkerConfig } from "./config";
import { startWorker } from "./service";

runService("provider-worker", async () => {
  const config = loadWorkerConfig();
  const logger = createLogger({ service: "provider-worker", level: config.LOG_LEVEL });
  const worker = await startWorker(config, { logger });
  return { logger, stop: () => worker.stop() };
});
