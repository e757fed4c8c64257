import { createLogger } from "@pragma/logger";
import { loadWorkerConfig } from "./config";
import { startWorker } from "./service";

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  const logger = createLogger({ service: "provider-worker", level: config.LOG_LEVEL });
  const worker = await startWorker(config, { logger });
  let signalled = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (signalled) return;
    signalled = true;
    logger.info({ signal }, "shutting down");
    worker.stop().then(
      () => process.exit(0),
      (err) => {
        logger.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
}

main().catch((err) => {
  process.stderr.write(`provider-worker failed to start: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
