import type { Logger } from "pino";

export interface RunningService {
  logger: Logger;
  stop(): Promise<void>;
}

/**
 * The composition root's tail, shared by every service's main.ts: start, then on the
 * first SIGTERM/SIGINT drain through stop() and exit 0 (1 if draining fails). A start
 * failure is written to stderr with its stack, since the logger may not exist yet.
 */
export function runService(name: string, start: () => Promise<RunningService>): void {
  start().then(
    ({ logger, stop }) => {
      let stopping = false;
      const shutdown = (signal: NodeJS.Signals) => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, "shutting down");
        stop().then(
          () => process.exit(0),
          (err: unknown) => {
            logger.error({ err }, "shutdown failed");
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", shutdown);
      process.on("SIGINT", shutdown);
    },
    (err: unknown) => {
      process.stderr.write(`${name} failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exit(1);
    },
  );
}
