import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import type { TypeDefinition } from "@pragma/contracts";
import { SENSITIVE, z, type HealthResult, type LogLine, type ResourceType } from "@pragma/provider-sdk";
import type { Logger } from "@pragma/logger";
import { ProviderProcess, type SandboxOptions } from "./provider-process";

export interface Deployment {
  version: string;
  types: TypeDefinition[];
}

export interface PushedDeps {
  /** The org's deployed version of a provider (null when none). */
  resolve(orgId: string, providerId: string): Promise<Deployment | null>;
  /** The built bundle of one version. */
  artifact(orgId: string, providerId: string, version: string): Promise<string>;
  /** Where bundles are kept on this machine: one directory per (org, provider, version). */
  dir: string;
  sandbox: SandboxOptions;
  /** How long the deployed version is reused before asking the store again. */
  resolveCacheMs: number;
  /** A process with no request for this long is stopped. */
  idleMs: number;
  logger: Logger;
}

const AnyObject = z.record(z.string(), z.unknown());

/**
 * The worker's side of pushed providers: which version of an org's provider takes an
 * event (the deployment, asked of the store and cached briefly), and one supervised
 * process per (org, provider, version) that runs it. Events hold the type of the version
 * they were taken with, so a redeploy never moves an event that is running.
 */
export class PushedProviders {
  private readonly deployments = new Map<string, { at: number; value: Promise<Deployment | null> }>();
  private readonly processes = new Map<string, Promise<ProviderProcess>>();
  private readonly reaper: NodeJS.Timeout;

  constructor(private readonly deps: PushedDeps) {
    this.reaper = setInterval(() => void this.reapIdle(), Math.max(1000, Math.min(deps.idleMs, 30_000)));
    this.reaper.unref();
  }

  private async deployment(orgId: string, providerId: string): Promise<Deployment | null> {
    const key = `${orgId}/${providerId}`;
    const hit = this.deployments.get(key);
    if (hit && Date.now() - hit.at < this.deps.resolveCacheMs) return hit.value;
    const value = this.deps.resolve(orgId, providerId);
    this.deployments.set(key, { at: Date.now(), value });
    value.catch(() => this.deployments.delete(key));
    return value;
  }

  /** The process of one version, started on first use (the bundle fetched from the store once per machine). */
  process(orgId: string, providerId: string, version: string): Promise<ProviderProcess> {
    const key = `${orgId}/${providerId}/${version}`;
    let p = this.processes.get(key);
    if (!p) {
      p = (async () => {
        const dir = path.join(this.deps.dir, orgId, providerId, version);
        await mkdir(dir, { recursive: true });
        const bundlePath = path.join(dir, "bundle.js");
        await writeFile(bundlePath, await this.deps.artifact(orgId, providerId, version));
        return new ProviderProcess(bundlePath, dir, this.deps.sandbox, ({ code, signal, stderr }) =>
          this.deps.logger.warn({ orgId, providerId, version, code, signal, stderr: stderr.slice(-500) }, "pushed provider process exited"),
        );
      })();
      this.processes.set(key, p);
      p.catch(() => this.processes.delete(key));
    }
    return p;
  }

  /** The type as processEvent runs it: every hook goes to the version's process. */
  async resolveType(orgId: string, providerId: string, typeName: string): Promise<ResourceType | undefined> {
    const d = await this.deployment(orgId, providerId);
    const def = d?.types.find((t) => t.resource === typeName);
    if (!d || !def) return undefined;
    return this.typeProxy(orgId, providerId, d.version, def);
  }

  /** Whether the version's process runs and answers (starting it if needed). */
  async ping(orgId: string, providerId: string, version: string): Promise<{ healthy: boolean; message: string | null }> {
    try {
      const proc = await this.process(orgId, providerId, version);
      await proc.request({ op: "ping" }, { timeoutMs: Math.min(5_000, this.deps.sandbox.timeoutMs) });
      return { healthy: true, message: null };
    } catch (err) {
      return { healthy: false, message: err instanceof Error ? err.message : String(err) };
    }
  }

  private typeProxy(orgId: string, providerId: string, version: string, def: TypeDefinition): ResourceType {
    const props = (def.schema.properties ?? {}) as Record<string, Record<string, unknown>>;
    const hook =
      (name: "create" | "update" | "delete") =>
      async (ctx: Parameters<ResourceType["create"]>[0]): Promise<Record<string, unknown>> => {
        const proc = await this.process(orgId, providerId, version);
        return proc.request<Record<string, unknown>>(
          {
            op: "hook",
            hook: name,
            call: {
              type: def.resource,
              config: ctx.config as Record<string, unknown>,
              previousConfig: ctx.previousConfig as Record<string, unknown> | null,
              outputs: ctx.outputs as Record<string, unknown> | null,
              resource: ctx.resource,
              eventId: ctx.eventId,
              eventType: ctx.eventType,
              attempt: ctx.attempt,
            },
          },
          { signal: ctx.signal, onLog: (l) => ctx.log(l.message, { level: l.level, ...l.fields }) },
        );
      };
    const inspect = (name: "health" | "logs") => async (ctx: Parameters<NonNullable<ResourceType["health"]>>[0], query?: { tail: number; since?: string }) => {
      const proc = await this.process(orgId, providerId, version);
      return proc.request<unknown>(
        {
          op: "hook",
          hook: name,
          call: {
            type: def.resource,
            config: ctx.config as Record<string, unknown>,
            previousConfig: null,
            outputs: ctx.outputs as Record<string, unknown> | null,
            resource: ctx.resource,
            eventId: "",
            eventType: "UPDATE",
            attempt: 0,
            ...(query ? { query } : {}),
          },
        },
        { signal: ctx.signal },
      );
    };
    return {
      name: def.resource,
      description: def.description,
      // The process validates config and outputs with the provider's own schemas.
      config: AnyObject,
      outputs: AnyObject,
      sensitiveOutputs: def.sensitive_outputs,
      sensitiveConfig: Object.entries(props)
        .filter(([, s]) => s?.[SENSITIVE] === true)
        .map(([k]) => k),
      tags: def.tags,
      create: hook("create"),
      update: hook("update"),
      delete: hook("delete") as unknown as ResourceType["delete"],
      // Only the hooks the type has: without health the edge answers 404, without logs the resource's own log is served.
      ...(def.hooks?.health ? { health: inspect("health") as (ctx: Parameters<NonNullable<ResourceType["health"]>>[0]) => Promise<HealthResult> } : {}),
      ...(def.hooks?.logs ? { logs: inspect("logs") as (ctx: Parameters<NonNullable<ResourceType["logs"]>>[0], q: { tail: number; since?: string }) => Promise<LogLine[]> } : {}),
    };
  }

  private async reapIdle(): Promise<void> {
    for (const [key, p] of this.processes) {
      const proc = await p.catch(() => undefined);
      if (proc && proc.pid !== undefined && proc.idleMs > this.deps.idleMs) proc.kill();
      void key;
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.reaper);
    for (const p of this.processes.values()) (await p.catch(() => undefined))?.kill();
    this.processes.clear();
  }
}
