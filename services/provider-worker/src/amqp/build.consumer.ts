import { PROVIDER_QUEUES, providerBuildRequested } from "@pragma/contracts";
import type { Logger } from "@pragma/logger";
import type { Broker, ConsumerHandle } from "@pragma/messaging";
import { buildProvider, type BuildDeps } from "../pushed/build-provider";

/** Builds of pushed providers, one message per build; a build that cannot reach the store is requeued. */
export function consumeBuilds(broker: Broker, deps: BuildDeps, logger: Logger, concurrency: number): Promise<ConsumerHandle> {
  return broker.consume(
    PROVIDER_QUEUES.builds,
    providerBuildRequested,
    async (d) => {
      const { status, ms } = await buildProvider(deps, d.payload);
      logger.info({ providerId: d.payload.provider_id, orgId: d.payload.org_id, version: d.payload.version, status, ms }, "provider build finished");
    },
    { prefetch: concurrency },
  );
}
