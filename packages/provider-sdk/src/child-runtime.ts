import type { HookContext, InspectContext, LogLine } from "./context";
import { typeDefinitions, type Provider, type TypeDefinition } from "./define";
import { PermanentError, isPermanent } from "./errors";

/**
 * The wire between a provider worker and the child process that runs a pushed provider
 * (Node IPC, JSON). The worker sends requests with an id; the child answers each once,
 * and may send log lines for it before the answer.
 */
export type HookName = "create" | "update" | "delete" | "health" | "logs";

export interface HookCall {
  type: string;
  config: Record<string, unknown>;
  previousConfig: Record<string, unknown> | null;
  outputs: Record<string, unknown> | null;
  resource: HookContext<unknown, unknown>["resource"];
  eventId: string;
  eventType: HookContext<unknown, unknown>["eventType"];
  attempt: number;
  query?: { tail: number; since?: string };
}

export type ChildRequest = { id: number; op: "describe" } | { id: number; op: "ping" } | { id: number; op: "hook"; hook: HookName; call: HookCall };

export type ChildMessage =
  | { id: number; ok: true; result: unknown }
  | { id: number; ok: false; error: { message: string; permanent: boolean } }
  | { id: number; log: Omit<LogLine, "at"> };

export interface Description {
  name: string;
  types: (TypeDefinition & { hooks?: { health: boolean; logs: boolean } })[];
}

type Send = (m: ChildMessage) => void;

function issues(err: { issues: { path: PropertyKey[]; message: string }[] }): string {
  return err.issues.map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`).join("; ");
}

/** A logger with pino's call shapes whose lines go to the resource's log. */
function childLogger(emit: (level: string, message: string, fields?: Record<string, unknown>) => void): any {
  const at = (level: string) => (a: unknown, b?: unknown) =>
    typeof a === "string" ? emit(level, a) : emit(level, typeof b === "string" ? b : "", (a as Record<string, unknown>) ?? undefined);
  const logger: any = { trace: at("trace"), debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error"), fatal: at("fatal") };
  logger.child = () => logger;
  return logger;
}

async function runHook(provider: Provider, hook: HookName, call: HookCall, send: Send, id: number): Promise<unknown> {
  const type = provider.types.get(call.type);
  if (!type) throw new PermanentError(`unknown resource type ${provider.name}/${call.type}`);
  const parsed = type.config.safeParse(call.config);
  if (!parsed.success) throw new PermanentError(`invalid config: ${issues(parsed.error)}`);
  const log = (level: string, message: string, fields?: Record<string, unknown>) => send({ id, log: fields ? { level, message, fields } : { level, message } });
  const noDatabase = async (): Promise<never> => {
    throw new PermanentError("ctx.database() is not available to pushed providers");
  };
  const base = {
    config: parsed.data,
    outputs: call.outputs,
    resource: call.resource,
    logger: childLogger(log),
    // The worker enforces the time limit by killing this process; nothing aborts in here.
    signal: new AbortController().signal,
    database: noDatabase,
  };
  if (hook === "health") {
    if (!type.health) throw new PermanentError(`resource type ${call.type} has no health check`);
    return type.health(base as InspectContext<any, any>);
  }
  if (hook === "logs") {
    if (!type.logs) throw new PermanentError(`resource type ${call.type} has no logs hook`);
    return type.logs(base as InspectContext<any, any>, call.query ?? { tail: 100 });
  }
  const prev = call.previousConfig ? type.config.safeParse(call.previousConfig) : null;
  const ctx: HookContext<any, any> = {
    ...base,
    previousConfig: prev ? (prev.success ? prev.data : call.previousConfig) : null,
    eventId: call.eventId,
    eventType: call.eventType,
    attempt: call.attempt,
    log: (message, fields) => log("info", message, fields),
  };
  const raw = await type[hook](ctx);
  if (hook === "delete") return {};
  const out = type.outputs.safeParse(raw ?? {});
  if (!out.success) throw new PermanentError(`provider returned invalid outputs: ${issues(out.error)}`);
  return out.data;
}

/** Answers one request; never throws (a hook's error becomes the answer). */
export async function handleChildRequest(provider: Provider, req: ChildRequest, send: Send): Promise<void> {
  try {
    let result: unknown = null;
    if (req.op === "describe") {
      const types = typeDefinitions(provider).map((t) => {
        const type = provider.types.get(t.resource)!;
        return { ...t, hooks: { health: typeof type.health === "function", logs: typeof type.logs === "function" } };
      });
      result = { name: provider.name, types } satisfies Description;
    }
    else if (req.op === "hook") result = await runHook(provider, req.hook, req.call, send, req.id);
    send({ id: req.id, ok: true, result });
  } catch (err) {
    send({ id: req.id, ok: false, error: { message: err instanceof Error ? err.message : String(err), permanent: isPermanent(err) } });
  }
}

/**
 * The entry point of a pushed provider's bundle (the build adds the call): serves the
 * worker's requests over IPC. Outside a worker's child process it does nothing, so a
 * provider module can still be imported by its own tests.
 */
export function serveProvider(provider: Provider): void {
  if (typeof process.send !== "function") return;
  const send: Send = (m) => void process.send!(m);
  process.on("message", (req: ChildRequest) => void handleChildRequest(provider, req, send));
  // A hook's stray rejection is its own bug, not a reason to drop every other event in flight.
  process.on("unhandledRejection", (err) => process.stderr.write(`unhandled rejection: ${err instanceof Error ? err.message : String(err)}\n`));
  process.on("disconnect", () => process.exit(0));
}
