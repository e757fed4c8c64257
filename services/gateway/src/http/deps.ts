import type { Logger } from "@pragma/logger";
import type { GatewayConfig } from "../config";
import type { Bus } from "../domain/ports";
import type { TokenService } from "../auth/tokens";
import type { RevokedKeys } from "../auth/revoked-keys";
import type { Tenancy } from "../domain/tenancy";
import type { Readiness } from "../domain/readiness";
import type { TokenBucket } from "../rate-limit/token-bucket";
import type { ResourceCache } from "../domain/resource-cache";
import type { WatchHub } from "../watch/watch-hub";
import type { GatewayMetrics } from "../metrics";

/** Everything routes may touch; built once by service.ts. */
export interface GatewayDeps {
  config: GatewayConfig;
  logger: Logger;
  bus: Bus;
  tokens: TokenService;
  revokedKeys: RevokedKeys;
  tenancy: Tenancy;
  bucket: TokenBucket;
  readiness: Readiness;
  resources: ResourceCache;
  watch: WatchHub;
  metrics: GatewayMetrics;
}
