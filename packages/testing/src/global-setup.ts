import { containerRuntimeAvailable, startContainers } from "./containers";
import { checkInfra, exportInfraUrls, redact, testInfraUrls, type TestInfraUrls } from "./infra";
import { setStartedContainers } from "./global-state";
import { ensureManagementApi } from "./management";

/**
 * Jest globalSetup for the integration project: choose the infrastructure once per run,
 * publish it as PRAGMA_TEST_* (jest workers inherit this process's environment), and
 * prove it answers. PRAGMA_TEST_INFRA=env skips container detection on a machine that
 * has Docker but should use its local services; =containers makes a missing engine fatal.
 */
export default async function globalSetup(): Promise<void> {
  const mode = process.env.PRAGMA_TEST_INFRA ?? "auto";
  if (!["auto", "env", "containers"].includes(mode)) {
    throw new Error(`PRAGMA_TEST_INFRA must be auto, env or containers, not ${JSON.stringify(mode)}`);
  }

  let urls: TestInfraUrls;
  let source: string;
  const runtime = mode === "env" ? { available: false, reason: "PRAGMA_TEST_INFRA=env" } : await containerRuntimeAvailable();
  if (runtime.available) {
    const started = await startContainers();
    setStartedContainers(started.containers);
    urls = started.urls;
    source = `containers on ${runtime.reason}`;
  } else {
    if (mode === "containers") throw new Error(`PRAGMA_TEST_INFRA=containers but no container runtime answers: ${runtime.reason}`);
    urls = testInfraUrls();
    source = `services from the environment (no container runtime: ${runtime.reason})`;
  }

  exportInfraUrls(urls);
  process.stderr.write(
    `\nintegration infrastructure: ${source}\n` +
      `  postgres ${redact(urls.databaseUrl)}, amqp ${redact(urls.amqpUrl)}, management ${redact(urls.rabbitmqMgmtUrl)}, redis ${redact(urls.redisUrl)}\n`,
  );
  // A fresh machine's broker has no plugins: enable the management API if the broker is
  // local, or fail naming the fix (containers run an image that has it).
  if (!runtime.available) {
    await ensureManagementApi({ amqpUrl: urls.amqpUrl, mgmtUrl: urls.rabbitmqMgmtUrl, log: (line) => process.stderr.write(`${line}\n`) });
  }
  await checkInfra(urls);
}
