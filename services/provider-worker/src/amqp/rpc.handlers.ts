import { AppError } from "@pragma/errors";
import type { Logger } from "@pragma/logger";
import { handler, handlerTable, type RpcHandlers } from "@pragma/messaging";
import { redactText, typeDefinitions, type DbType, type DatabaseOptions, type InspectContext, type Provider, type ResourceType, type SqlDatabase } from "@pragma/provider-sdk";
import type { ValueSealer } from "@pragma/crypto";
import type { ResourceLogRepository } from "../data/resource-log.repository";
import { scopedKey } from "../data/redis-keys";
import { workerRequests, type InspectedResource } from "@pragma/contracts";

export interface RpcDeps {
  providers: ReadonlyMap<string, Provider>;
  /** The resource comes with its sensitive values sealed; they are opened here, in memory. */
  sealer: Pick<ValueSealer, "openDeep">;
  /** Providers this replica serves; types of others are not listed or inspected here. */
  served: readonly string[];
  resourceLog: ResourceLogRepository;
  database(scope: { orgId: string; projectId: string }, dbType?: DbType, options?: DatabaseOptions): Promise<SqlDatabase>;
  knownSecrets(): string[];
  logger: Logger;
  inspectTimeoutMs: number;
  /** A pushed provider's type in the org's deployed version (its hooks run in that version's process). */
  pushedType?: (r: InspectedResource) => Promise<ResourceType | undefined>;
}

async function typeOf(deps: RpcDeps, r: InspectedResource): Promise<ResourceType> {
  const type = deps.served.includes(r.provider) ? deps.providers.get(r.provider)?.types.get(r.resource_type) : await deps.pushedType?.(r);
  if (!type) throw new AppError("NOT_FOUND", `Unknown resource type: ${r.provider}/${r.resource_type}`);
  return type;
}

export function inspectContext(deps: RpcDeps, type: ResourceType, r: InspectedResource, signal: AbortSignal): InspectContext<any, any> {
  const { config, outputs } = deps.sealer.openDeep({ config: r.config, outputs: r.outputs }).value;
  const parsed = type.config.safeParse(config);
  return {
    config: parsed.success ? parsed.data : config,
    outputs,
    resource: { provider: r.provider, type: r.resource_type, name: r.resource_name, id: r.resource_id, orgId: r.org_id, projectId: r.project_id, spaceId: r.space_id },
    logger: deps.logger.child({ resourceId: r.resource_id }),
    signal,
    database: (dbType, options) => deps.database({ orgId: r.org_id, projectId: r.project_id }, dbType, options),
  };
}

export async function bounded<T>(deps: RpcDeps, r: InspectedResource, what: string, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), deps.inspectTimeoutMs);
  try {
    return await fn(ac.signal);
  } catch (err) {
    if (err instanceof AppError) throw err;
    // The provider's own failure is the upstream's, and may quote a connection string.
    const secrets = [...deps.knownSecrets(), ...openedSecrets(deps, r)];
    throw new AppError("UPSTREAM_ERROR", `${what} failed: ${redactText(err instanceof Error ? err.message : String(err), secrets)}`);
  } finally {
    clearTimeout(timer);
  }
}

function openedSecrets(deps: RpcDeps, r: InspectedResource): string[] {
  try {
    return deps.sealer.openDeep({ config: r.config, outputs: r.outputs }).secrets;
  } catch {
    return [];
  }
}

export function workerRpcHandlers(deps: RpcDeps): RpcHandlers {
  return handlerTable(
    handler(workerRequests.health, async (r) => {
      const type = await typeOf(deps, r);
      if (!type.health) throw new AppError("NOT_FOUND", `Resource type ${r.provider}/${r.resource_type} has no health check`);
      const health = type.health.bind(type);
      const h = await bounded(deps, r, "health check", (signal) => health(inspectContext(deps, type, r, signal)));
      return { resource_id: r.resource_id, status: h.status, message: h.message ?? null, details: h.details ?? null, checked_at: new Date().toISOString() };
    }),
    handler(workerRequests.logs, async (r) => {
      const type = await typeOf(deps, r);
      const since = r.since ? new Date(r.since).toISOString() : undefined;
      const query = since ? { tail: r.tail, since } : { tail: r.tail };
      if (type.logs) {
        const logs = type.logs.bind(type);
        const lines = await bounded(deps, r, "logs", (signal) => logs(inspectContext(deps, type, r, signal), query));
        return { resource_id: r.resource_id, lines: lines.slice(-r.tail) };
      }
      return { resource_id: r.resource_id, lines: await deps.resourceLog.tail(scopedKey(r), r.tail, since) };
    }),
    handler(workerRequests.listTypes, async (q) => {
      const types = deps.served
        .filter((p) => !q.provider || q.provider === p)
        .flatMap((p) => {
          const provider = deps.providers.get(p);
          return provider ? typeDefinitions(provider) : [];
        });
      return { types };
    }),
  );
}
