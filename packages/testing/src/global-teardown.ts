import { takeStartedContainers } from "./global-state";

/** Jest globalTeardown: stops the containers globalSetup started (nothing to do on the environment path). */
export default async function globalTeardown(): Promise<void> {
  const containers = takeStartedContainers();
  const results = await Promise.allSettled(containers.map((c) => c.stop()));
  const failed = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
  if (failed.length > 0) throw new AggregateError(failed, "could not stop every test container (testcontainers' reaper removes the rest)");
}
