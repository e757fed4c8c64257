import type { ResourceWork } from "@pragma/contracts";
import type { Logger } from "@pragma/logger";
import { PermanentError, RetryableError, redactText, type HookContext, type LogLine, type ResourceType } from "@pragma/provider-sdk";
import type { HookRuntime } from "./ports";

/** A hook started for an event. */
export interface HookRun {
  /** The outputs, parsed and with sensitive ones sealed; rejects with the hook's (or the config's) error. */
  outputs: Promise<Record<string, unknown>>;
  /** Settles when the hook has really stopped, even one that outlived its timeout. */
  readonly settled: Promise<unknown>;
  /** Removes every sensitive value of the event, and every secret the worker knows, from a text. */
  scrub(text: string): string;
}

/**
 * Opens the event's sealed values (in memory only), parses its config and runs the hook
 * with the timeout and the shutdown signal. Every sensitive value is scrubbed from what the
 * hook logs and from the error the caller reports.
 */
export function startHook(rt: HookRuntime, work: ResourceWork, type: ResourceType, attempt: number, logger: Logger, appendLog: (line: Omit<LogLine, "at">) => void): HookRun {
  let secrets: string[] = [];
  let settled: Promise<unknown> = Promise.resolve();
  const scrub = (text: string) => redactText(text, [...secrets, ...rt.knownSecrets()]);
  const outputs = (async () => {
    // Sensitive values travel sealed (spec §4.3) and are opened here, in memory only.
    const clear = openWork(rt, work);
    secrets = [...clear.secrets, ...sensitiveValues(type, clear.work)];
    const parsedConfig = parseConfig(type, clear.work.config, "config");
    const previousConfig = clear.work.previous_config ? safeConfig(type, clear.work.previous_config) : null;
    const { ctx, abort } = hookContext(rt, clear.work, type, parsedConfig, previousConfig, attempt, logger, appendLog, scrub);
    const run = invoke(type, ctx, work.event_type);
    settled = run.catch(() => undefined);
    const raw = await withTimeout(run, rt.hookTimeoutMs, abort, rt.shutdown);
    // Outputs the type marks sensitive, secret-named ones and any that echo a sensitive
    // input (pragma/config) leave sealed: the result message, the store and its dump
    // never hold them in clear.
    return work.event_type === "DELETE" ? {} : rt.sealer.sealSensitive(parseOutputs(type, raw), type.sensitiveOutputs, secrets);
  })();
  return {
    outputs,
    get settled() {
      return settled;
    },
    scrub,
  };
}

export function errMessage(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function parseConfig(type: ResourceType, config: unknown, what: string): unknown {
  const r = type.config.safeParse(config);
  if (!r.success) throw new PermanentError(`invalid ${what}: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  return r.data;
}

/** A previous config that no longer parses (the schema changed) is passed raw rather than failing the event. */
function safeConfig(type: ResourceType, config: unknown): unknown {
  const r = type.config.safeParse(config);
  return r.success ? r.data : config;
}

function parseOutputs(type: ResourceType, outputs: unknown): Record<string, unknown> {
  const r = type.outputs.safeParse(outputs ?? {});
  // The provider broke its own contract: running it again gives the same answer.
  if (!r.success) throw new PermanentError(`provider returned invalid outputs: ${r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  return r.data as Record<string, unknown>;
}

/** The work with its sealed values opened, and those values (what must be scrubbed). A key we lack is a permanent error. */
function openWork(rt: HookRuntime, work: ResourceWork): { work: ResourceWork; secrets: string[] } {
  try {
    const opened = rt.sealer.openDeep({ config: work.config, previous_config: work.previous_config, outputs: work.outputs });
    return { work: { ...work, ...opened.value }, secrets: opened.secrets };
  } catch (err) {
    // The message names the missing key id, never key material or plaintext.
    throw new PermanentError(`cannot open the event's sensitive values: ${errMessage(err)}`);
  }
}

function sensitiveValues(type: ResourceType, work: ResourceWork): string[] {
  const out: string[] = [];
  const collect = (obj: Record<string, unknown> | null, keys: string[]) => {
    for (const k of keys) if (obj && typeof obj[k] === "string") out.push(obj[k] as string);
  };
  collect(work.config, type.sensitiveConfig);
  collect(work.previous_config, type.sensitiveConfig);
  collect(work.outputs, type.sensitiveOutputs);
  return out;
}

function hookContext(
  rt: HookRuntime,
  work: ResourceWork,
  type: ResourceType,
  config: unknown,
  previousConfig: unknown,
  attempt: number,
  logger: Logger,
  appendLog: (line: Omit<LogLine, "at">) => void,
  scrub: (text: string) => string,
): { ctx: HookContext<any, any>; abort: AbortController } {
  const abort = new AbortController();
  const scope = { orgId: work.org_id, projectId: work.project_id };
  const ctx: HookContext<any, any> = {
    config,
    previousConfig,
    outputs: work.outputs,
    resource: { provider: work.provider, type: type.name, name: work.resource_name, id: work.resource_id, orgId: work.org_id, projectId: work.project_id, spaceId: work.space_id },
    eventId: work.event_id,
    eventType: work.event_type,
    attempt,
    logger,
    signal: abort.signal,
    log(rawMessage, rawFields) {
      // A provider may quote what it was given: its lines lose every sensitive value first.
      const message = scrub(rawMessage);
      const fields = rawFields ? (scrubValue(rawFields, scrub) as Record<string, unknown>) : undefined;
      logger.info(fields ?? {}, message);
      void appendLog({ level: "info", message, ...(fields ? { fields } : {}) });
    },
    database: (dbType, options) => rt.database(scope, dbType, options),
  };
  return { ctx, abort };
}

function scrubValue(v: unknown, scrub: (text: string) => string): unknown {
  if (typeof v === "string") return scrub(v);
  if (Array.isArray(v)) return v.map((x) => scrubValue(x, scrub));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrubValue(x, scrub)]));
  return v;
}

function invoke(type: ResourceType, ctx: HookContext<any, any>, eventType: ResourceWork["event_type"]): Promise<unknown> {
  // Invoked through a promise so a hook that throws synchronously is handled the same way.
  return Promise.resolve().then((): Promise<unknown> => (eventType === "CREATE" ? type.create(ctx) : eventType === "UPDATE" ? type.update(ctx) : type.delete(ctx)));
}

function withTimeout<T>(p: Promise<T>, ms: number, abort: AbortController, shutdown: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onShutdown = () => {
      abort.abort(new RetryableError("worker shutting down"));
      reject(new RetryableError("worker shut down before the hook finished"));
    };
    const timer = setTimeout(() => {
      abort.abort(new RetryableError("hook timed out"));
      reject(new RetryableError(`hook timed out after ${ms} ms`));
    }, ms);
    shutdown.addEventListener("abort", onShutdown, { once: true });
    p.then(resolve, reject).finally(() => {
      clearTimeout(timer);
      shutdown.removeEventListener("abort", onShutdown);
    });
  });
}
