import { RPC_QUEUES, workerRequests, type ResourceDefinition } from "@pragma/contracts";
import { AppError } from "@pragma/errors";
import type { Logger } from "@pragma/logger";
import type { Broker } from "@pragma/messaging";
import type { TypeCatalog } from "../domain/resources/ports";

/**
 * Built-in types as the provider workers describe them (workerRequests.listTypes),
 * cached: every pending apply validates against this, and the list changes only when
 * workers are redeployed. A failed refresh keeps serving the last good copy.
 */
export class WorkerTypeCatalog implements TypeCatalog {
  private cached: { at: number; types: ResourceDefinition[] } | undefined;
  private inflight: Promise<ResourceDefinition[]> | undefined;

  constructor(
    private readonly broker: Pick<Broker, "request">,
    private readonly opts: { ttlMs: number; timeoutMs: number; logger: Logger },
  ) {}

  async list(): Promise<ResourceDefinition[]> {
    if (this.cached && Date.now() - this.cached.at < this.opts.ttlMs) return this.cached.types;
    this.inflight ??= this.refresh().finally(() => (this.inflight = undefined));
    return this.inflight;
  }

  private async refresh(): Promise<ResourceDefinition[]> {
    try {
      const { types } = await this.broker.request(RPC_QUEUES.providerWorker, workerRequests.listTypes, {}, { timeoutMs: this.opts.timeoutMs });
      const defs = types
        .map(({ provider, resource, description, schema, outputs_schema, tags }) => ({ provider, resource, description, schema, outputs_schema, tags }))
        .sort((a, b) => cmp(a.provider, b.provider) || cmp(a.resource, b.resource));
      this.cached = { at: Date.now(), types: defs };
      return defs;
    } catch (err) {
      if (this.cached) {
        this.opts.logger.warn({ err: err instanceof Error ? err.message : String(err) }, "type catalogue refresh failed, serving the cached copy");
        return this.cached.types;
      }
      if (err instanceof AppError && (err.code === "TIMEOUT" || err.code === "UNAVAILABLE")) {
        throw new AppError(err.code, "Resource types are unavailable: no provider worker answered");
      }
      throw err;
    }
  }
}

/** Code-point order, so the listing is the same whatever the locale. */
const cmp = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
