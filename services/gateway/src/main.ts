import cluster from "node:cluster";
import { createLogger, runService } from "@pragma/logger";
import { readConfig } from "./config";
import { startGateway } from "./service";
import { AggregatorRegistry, serveMetrics } from "@pragma/metrics";

const config = readConfig();

if (config.processes > 1 && cluster.isPrimary) {
  runPrimary(config.processes);
} else {
  runService("gateway", async () => {
    const logger = createLogger({ service: "gateway", level: config.logLevel });
    if (config.serverKeyGenerated) {
      // Printed once, to stdout and outside the JSON log stream, so a developer can copy it.
      process.stdout.write(
        `\n  PRAGMA_SERVER_KEY was not set; generated for this run (development only):\n\n    ${config.serverKey}\n\n  Set PRAGMA_SERVER_KEY to keep it stable across restarts.\n\n`,
      );
    }
    const gateway = await startGateway(config, { logger, clusterWorker: cluster.isWorker });
    return { logger, stop: () => gateway.stop() };
  });
}

/**
 * GATEWAY_PROCESSES > 1: this process only forks the gateways, which share the port (Node
 * cluster: the primary accepts connections and hands them round-robin to the workers; a
 * keep-alive connection stays with one). Each worker is a whole gateway with its own broker
 * connection and resource cache. A SIGTERM or SIGINT here is passed on and the primary
 * exits when every worker has drained; a worker that dies on its own stops the rest, so a
 * supervisor (npm start, systemd, Kubernetes) sees the failure instead of a silently
 * smaller gateway.
 */
function runPrimary(processes: number): void {
  const logger = createLogger({ service: "gateway", level: config.logLevel });
  // Generated secrets would differ per worker: a token signed by one would fail at another.
  if (config.generated.length > 0) {
    logger.error({ generated: config.generated }, "GATEWAY_PROCESSES > 1 needs these set in the environment so every process shares them (npm start keeps them in .pragma/dev.env)");
    process.exit(1);
  }
  let stopping = false;
  let exitCode = 0;
  let running = processes;
  const stopAll = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
  };
  cluster.on("exit", (worker, code, signal) => {
    if (!stopping) {
      logger.error({ pid: worker.process.pid, code, signal }, "a gateway process exited on its own; stopping the others");
      exitCode = 1;
      stopAll("SIGTERM");
    }
    if (--running === 0) {
      logger.info({ exitCode }, "gateway processes stopped");
      process.exit(exitCode);
    }
  });
  process.on("SIGTERM", () => stopAll("SIGTERM"));
  process.on("SIGINT", () => stopAll("SIGTERM"));
  for (let i = 0; i < processes; i++) cluster.fork();
  logger.info({ processes }, "gateway processes started");
  if (config.metricsPort !== undefined) {
    // One scrape target for all the processes: the sum of their registries (histograms and
    // counters add up; process metrics are per process, summed).
    const aggregate = new AggregatorRegistry();
    serveMetrics(aggregate, config.metricsPort, () => aggregate.clusterMetrics()).then(
      (m) => logger.info({ metricsPort: m.port }, "gateway metrics of every process served"),
      (err: unknown) => {
        logger.error({ err }, "could not serve metrics; stopping");
        exitCode = 1;
        stopAll("SIGTERM");
      },
    );
  }
}
