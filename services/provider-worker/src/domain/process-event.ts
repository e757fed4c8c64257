import { HEADERS, WORK_ATTEMPT_ERROR_MAX, WORK_HEADERS, readAttemptHistory, writeAttemptHistory, type ResourceWork, type ResultKind, type WorkAttempt, type WorkAttemptHistory } from "@pragma/contracts";
import { lazyChild, unredactedChild, type Logger } from "@pragma/logger";
import {
  PermanentError,
  RetryableError,
  isPermanent,
  redactText,
  type DatabaseOptions,
  type DbType,
  type HookContext,
  type LogLine,
  type Provider,
  type ResourceType,
  type SqlDatabase,
} from "@pragma/provider-sdk";
import type { ValueSealer } from "@pragma/crypto";
import type { DedupeRepository, StoredOutcome } from "../data/dedupe.repository";
import type { ResourceLocks } from "../data/resource-lock";
import type { ResourceLogRepository } from "../data/resource-log.repository";
import type { EventFinisher } from "../data/event-finisher";
import { scopedKey } from "../data/redis-keys";

/** Why the worker dead-lettered: permanent_error, retries_exhausted or delivery_limit (the broker's own reasons come in x-death). */
export const DEAD_LETTER_REASON_HEADER = "x-dead-letter-reason";

export interface WorkInput {
  work: ResourceWork;
  headers: Record<string, unknown>;
  /** The broker's x-delivery-count: redeliveries of this copy after crashes. */
  deliveryCount: number;
  correlationId: string | undefined;
}

export type { ResultKind } from "@pragma/contracts";

/**
 * How an event ended, for the worker's metrics: its result published (succeeded, or failed
 * and dead-lettered), parked in a delay tier (retried after a transient error, or busy:
 * another event held the resource), or an earlier outcome republished (replayed). A throw
 * (requeued) is the caller's to count.
 */
export type EventOutcome = "succeeded" | "failed" | "retried" | "busy" | "replayed";

export interface ProcessDeps {
  providers: ReadonlyMap<string, Provider>;
  /** Opens the sealed (sensitive) values of a work message in memory; seals sensitive outputs before they are published. */
  sealer: Pick<ValueSealer, "openDeep" | "sealSensitive">;
  /** A pushed provider's type, in the version deployed for the event's org (api.md §6); throws when that cannot be known now (requeue). */
  pushedType?: (work: ResourceWork) => Promise<ResourceType | undefined>;
  /** Each resolves only once the broker confirmed. */
  publishResult(kind: ResultKind, payload: Record<string, unknown>, input: WorkInput): Promise<void>;
  publishRetry(input: WorkInput, headers: Record<string, unknown>, delayMs: number): Promise<void>;
  publishDeadLetter(input: WorkInput, headers: Record<string, unknown>): Promise<void>;
  dedupe: DedupeRepository;
  locks: ResourceLocks;
  resourceLog: ResourceLogRepository;
  finisher: EventFinisher;
  database(scope: { orgId: string; projectId: string }, dbType?: DbType, options?: DatabaseOptions): Promise<SqlDatabase>;
  /** Values that must never appear in a result or dead letter (registry passwords seen so far). */
  knownSecrets(): string[];
  logger: Logger;
  /** Aborted when the worker gives up waiting for in-flight hooks at shutdown. */
  shutdown: AbortSignal;
  tiersMs: readonly number[];
  maxRetries: number;
  hookTimeoutMs: number;
  /**
   * "started" is reported only for a hook still running after this long (0: always, before
   * the hook). A quicker one reports just its outcome: the resource goes pending → ready in
   * one step, which nobody could have told apart, for one message less per event.
   */
  startedReportDelayMs: number;
  /** Runs of an event that may crash (the worker killed mid-hook) before it is dead-lettered as a crash loop. */
  deliveryLimit: number;
}

const BROKER_HEADERS = /^(x-death|x-first-death-|x-last-death-|x-delivery-count$|CC$|BCC$)/;

/** Headers to carry onto a copy we publish ourselves (retry tier, dead letter). */
function carriedHeaders(headers: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(headers).filter(([k]) => !BROKER_HEADERS.test(k)));
}

const num = (v: unknown) => (typeof v === "number" ? v : typeof v === "string" && /^\d+$/.test(v) ? Number(v) : 0);

/** The logger's unredacted child (unredactedChild), made once per logger: for lines whose fields are fixed. */
const unredacted = new WeakMap<Logger, Logger>();
function unredactedOf(logger: Logger): Logger {
  let u = unredacted.get(logger);
  if (!u) unredacted.set(logger, (u = unredactedChild(logger)));
  return u;
}

/**
 * One work message, start to finish. Resolving means "ack now": every result, retry
 * copy or dead letter it produced has been confirmed by the broker. Throwing means
 * "requeue" (the broker or Redis is unreachable; nothing was lost, the delivery limit
 * bounds the loop).
 */
export async function processEvent(deps: ProcessDeps, input: WorkInput): Promise<EventOutcome> {
  const { work } = input;
  const bindings = { eventId: work.event_id, resourceId: work.resource_id, provider: work.provider, resourceType: work.resource_type, eventType: work.event_type };
  // Most events write one line, "event succeeded", with these fixed fields (ids and type
  // names, no secret): it skips redaction, and the redacted child is made only if
  // something else is written (lazyChild).
  const log = lazyChild(deps.logger, bindings);
  const retryCount = num(input.headers[HEADERS.retryCount]);
  const resourceKey = scopedKey(work);
  const base = { event_id: work.event_id, resource_id: work.resource_id, org_id: work.org_id, project_id: work.project_id, space_id: work.space_id };
  const now = () => new Date().toISOString();
  // A line the resource log has yet to receive: "started", held for a quick hook (below).
  let heldLine: LogLine | undefined;
  const appendLogLines = (more: LogLine[]) => {
    const lines = heldLine ? [heldLine, ...more] : more;
    heldLine = undefined;
    return lines.length === 0 ? Promise.resolve() : deps.resourceLog.append(resourceKey, ...lines).catch(() => undefined);
  };
  const appendLog = (line: Omit<LogLine, "at">) => appendLogLines([{ at: now(), ...line }]);
  const flushHeldLine = () => {
    if (heldLine) void appendLogLines([]);
  };

  // An unknown type never runs a hook, so it needs no lease (a redelivered copy fails the
  // same way again, which is what replaying its stored outcome would publish).
  const type = deps.providers.get(work.provider)?.types.get(work.resource_type) ?? (await deps.pushedType?.(work));
  if (!type) {
    return fail(deps, input, log, base, new PermanentError(`unknown resource type ${work.provider}/${work.resource_type}`), [], retryCount, noRuns(input));
  }

  // A completed event (redelivered after a crash between result and ack, or published
  // twice by the outbox) repeats its outcome instead of running the hook again. Checked
  // together with taking the resource's lease and counting the run: one Redis round trip
  // when the resource is free.
  const entered = await deps.locks.enter(resourceKey, work.event_id, { done: deps.dedupe.keyOf(work.event_id), runs: deps.dedupe.runsKeyOf(work.event_id) }, now());
  if ("done" in entered) {
    const done = deps.dedupe.decode(entered.done);
    log.info({ outcome: done.kind }, "event already completed; republishing its result");
    await replay(deps, input, done);
    return "replayed";
  }
  if ("busy" in entered) {
    // Another event (or another copy of this one, or a crashed replica whose liveness has
    // yet to expire) holds the resource. Wait in the shortest delay tier, acked: holding the
    // delivery while waiting would let every crash of this replica spend one of the
    // broker's deliveries although no hook ran. Neither budget is touched.
    const waits = num(input.headers[WORK_HEADERS.leaseWaits]) + 1;
    log.info({ waits }, "resource busy; delaying event");
    await deps.publishRetry(input, { ...carriedHeaders(input.headers), [WORK_HEADERS.leaseWaits]: waits }, deps.tiersMs[0] ?? 1000);
    return "busy";
  }
  const held = entered.lease;
  const runs = runHistory(input, entered.runs);
  // The hook's attempt: earlier runs of this event (0 on the first), crashed ones included.
  const attempt = runs.run - 1;

  if (runs.crashed >= deps.deliveryLimit) {
    // A crash loop: earlier runs killed their worker this often. Not run again.
    await held.release().catch(() => undefined);
    return fail(deps, input, log, base, new PermanentError(`the worker stopped ${runs.crashed} times before the hook finished (crash loop)`), [], retryCount, { ...runs, run: runs.run - 1, ran: false }, "delivery_limit");
  }

  let hookSettled: Promise<unknown> = Promise.resolve();
  /** Set once the finisher has released the lease with the outcome. */
  let released = false;
  let startedLineTimer: NodeJS.Timeout | undefined;
  try {
    const started = reportStarted(deps, input, { ...base, attempt });
    // The "started" line keeps its time but waits, like the started report, until the hook
    // has run for startedReportDelayMs or logs something itself: a quick event then sends
    // its two lines in one Redis command, one command less per event.
    heldLine = { at: now(), level: "info", message: `${work.event_type} started`, fields: { event_id: work.event_id, attempt } };
    if (deps.startedReportDelayMs <= 0) flushHeldLine();
    else startedLineTimer = setTimeout(flushHeldLine, deps.startedReportDelayMs);

    let outputs: Record<string, unknown>;
    let secrets: string[] = [];
    try {
      // Sensitive values travel sealed (spec §4.3) and are opened here, in memory only;
      // every one of them is scrubbed from what this event writes (errors, log lines).
      const clear = openWork(deps, work);
      secrets = [...clear.secrets, ...sensitiveValues(type, clear.work)];
      const parsedConfig = parseConfig(type, clear.work.config, "config");
      const previousConfig = clear.work.previous_config ? safeConfig(type, clear.work.previous_config) : null;
      const scrub = (text: string) => redactText(text, [...secrets, ...deps.knownSecrets()]);
      const ctx = hookContext(deps, clear.work, type, parsedConfig, previousConfig, attempt, log, appendLog, scrub);
      const run = runHook(type, ctx.ctx, work.event_type);
      hookSettled = run.catch(() => undefined);
      const raw = await withTimeout(run, deps.hookTimeoutMs, ctx.abort, deps.shutdown);
      // Outputs the type marks sensitive, secret-named ones and any that echo a sensitive
      // input (pragma/config) leave sealed: the result message, the store and its dump
      // never hold them in clear.
      outputs = work.event_type === "DELETE" ? {} : deps.sealer.sealSensitive(parseOutputs(type, raw), type.sensitiveOutputs, secrets);
    } catch (err) {
      await started.settle();
      const outcome = await fail(deps, input, log, base, err, secrets, retryCount, runs);
      void appendLog({ level: "error", message: `${work.event_type} failed`, fields: { event_id: work.event_id, error: redactText(errMessage(err), [...secrets, ...deps.knownSecrets()]) } });
      return outcome;
    }

    await started.settle();
    const payload = { ...base, event_type: work.event_type, outputs, at: now() };
    // Before publishing, in one Redis command: the outcome (if we crash after publishing,
    // the redelivery republishes it), the log lines, and the lease (the hook is done, so
    // the resource is free; the store ignores a result that is not for its pending event,
    // whatever order two events' results arrive in). The held "started" line goes with it.
    const lines = [...(heldLine ? [heldLine] : []), { at: now(), level: "info" as const, message: `${work.event_type} succeeded`, fields: { event_id: work.event_id } }];
    heldLine = undefined;
    await deps.finisher.finish(work.event_id, { kind: "succeeded", payload }, resourceKey, lines, held);
    released = true;
    await deps.publishResult("succeeded", payload, input);
    unredactedOf(deps.logger).info({ ...bindings, attempt }, "event succeeded");
    return "succeeded";
  } finally {
    // Whatever ended the event (a failed publish too), a held line is not lost.
    clearTimeout(startedLineTimer);
    flushHeldLine();
    // A hook that outlived its timeout keeps the resource until it really stops, so
    // the retry cannot run beside it.
    if (!released) void hookSettled.finally(() => held.release().catch(() => undefined));
  }
}

/**
 * Publishes "started" now (delay 0) or once the hook has run for the delay. settle() cancels
 * a report not yet sent and waits for the confirm of one that was, so "started" always
 * precedes the outcome and a failed publish still means "requeue".
 */
function reportStarted(deps: ProcessDeps, input: WorkInput, base: Record<string, unknown>): { settle(): Promise<void> } {
  let sent: Promise<void> | undefined;
  const send = () => {
    sent = deps.publishResult("started", { ...base, at: new Date().toISOString() }, input);
    sent.catch(() => undefined); // observed by settle()
  };
  if (deps.startedReportDelayMs <= 0) {
    send();
    return { settle: () => sent! };
  }
  const timer = setTimeout(send, deps.startedReportDelayMs);
  return {
    settle() {
      clearTimeout(timer);
      return sent ?? Promise.resolve();
    },
  };
}

async function replay(deps: ProcessDeps, input: WorkInput, done: StoredOutcome): Promise<void> {
  await deps.publishResult(done.kind, done.payload, input);
  if (done.kind === "failed") await deps.publishDeadLetter(input, done.deadLetterHeaders);
}

/**
 * An event's runs so far, from the start times ResourceLocks.enter recorded (this run's
 * last) and the history its copies carry: a run the history does not list ended neither
 * in a retry nor in a result, so its worker stopped (crashed) before it finished.
 */
interface Runs {
  /** This run's number (1 for the first), or with ran false the runs so far. */
  run: number;
  /** false: this delivery runs no hook (an unknown type, a crash loop). */
  ran: boolean;
  startedAt: string;
  crashed: number;
  leaseWaits: number;
  attempts: WorkAttempt[];
}

function runHistory(input: WorkInput, startTimes: string[]): Runs {
  const carried = readAttemptHistory(input.headers)?.attempts ?? [];
  const run = Math.max(startTimes.length, carried.length + 1);
  const listed = new Set(carried.map((a) => a.attempt));
  const attempts = [...carried];
  for (let n = 1; n < run; n++) {
    if (!listed.has(n)) attempts.push({ attempt: n, at: startTimes[n - 1] ?? new Date().toISOString(), outcome: "crashed", error: "the worker stopped before the hook finished (killed, or lost its connections)" });
  }
  attempts.sort((a, b) => a.attempt - b.attempt);
  const crashed = attempts.filter((a) => a.outcome === "crashed").length;
  return { run, ran: true, startedAt: startTimes[startTimes.length - 1] ?? new Date().toISOString(), crashed, leaseWaits: num(input.headers[WORK_HEADERS.leaseWaits]), attempts };
}

function noRuns(input: WorkInput): Runs {
  return { run: 0, ran: false, startedAt: new Date().toISOString(), crashed: 0, leaseWaits: num(input.headers[WORK_HEADERS.leaseWaits]), attempts: readAttemptHistory(input.headers)?.attempts ?? [] };
}

/** The history to carry on a copy, with this run's end added (none when no hook ran). */
function historyWith(runs: Runs, retries: number, outcome: WorkAttempt["outcome"], error: string): WorkAttemptHistory {
  const attempts = runs.ran ? [...runs.attempts, { attempt: runs.run, at: runs.startedAt, outcome, error: error.slice(0, WORK_ATTEMPT_ERROR_MAX) }] : runs.attempts;
  return { runs: runs.run, retries, crashed: runs.crashed, lease_waits: runs.leaseWaits, attempts };
}

async function fail(
  deps: ProcessDeps,
  input: WorkInput,
  log: Logger,
  base: Record<string, unknown>,
  err: unknown,
  secrets: string[],
  retryCount: number,
  runs: Runs,
  reasonOverride?: string,
): Promise<"retried" | "failed"> {
  const message = redactText(errMessage(err), [...secrets, ...deps.knownSecrets()]);
  const permanent = isPermanent(err);
  if (!permanent && retryCount < deps.maxRetries) {
    const delayMs = deps.tiersMs[Math.min(retryCount, deps.tiersMs.length - 1)] ?? 1000;
    log.warn({ err: message, retryCount: retryCount + 1, delayMs }, "event failed; retrying after delay");
    const history = historyWith(runs, retryCount + 1, "retried", message);
    await deps.publishRetry(input, { ...carriedHeaders(input.headers), [HEADERS.retryCount]: retryCount + 1, [WORK_HEADERS.attemptHistory]: writeAttemptHistory(history) }, delayMs);
    return "retried";
  }
  const reason = reasonOverride ?? (permanent ? "permanent_error" : "retries_exhausted");
  log.error({ err: message, retryCount, reason }, "event failed; dead-lettering");
  const payload = { ...base, event_type: input.work.event_type, error: message, permanent, at: new Date().toISOString() };
  const deadLetterHeaders = {
    ...carriedHeaders(input.headers),
    [HEADERS.retryCount]: retryCount,
    [HEADERS.permanentError]: permanent,
    [HEADERS.errorMessage]: message.slice(0, 4000),
    [DEAD_LETTER_REASON_HEADER]: reason,
    [WORK_HEADERS.attemptHistory]: writeAttemptHistory(historyWith(runs, retryCount, "failed", message)),
  };
  await deps.dedupe.put(input.work.event_id, { kind: "failed", payload, deadLetterHeaders });
  await deps.publishResult("failed", payload, input);
  await deps.publishDeadLetter(input, deadLetterHeaders);
  return "failed";
}

function errMessage(err: unknown): string {
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
function openWork(deps: ProcessDeps, work: ResourceWork): { work: ResourceWork; secrets: string[] } {
  try {
    const opened = deps.sealer.openDeep({ config: work.config, previous_config: work.previous_config, outputs: work.outputs });
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
  deps: ProcessDeps,
  work: ResourceWork,
  type: ResourceType,
  config: unknown,
  previousConfig: unknown,
  attempt: number,
  logger: Logger,
  appendLog: (line: Omit<LogLine, "at">) => Promise<void>,
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
    database: (dbType, options) => deps.database(scope, dbType, options),
  };
  return { ctx, abort };
}

function scrubValue(v: unknown, scrub: (text: string) => string): unknown {
  if (typeof v === "string") return scrub(v);
  if (Array.isArray(v)) return v.map((x) => scrubValue(x, scrub));
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, scrubValue(x, scrub)]));
  return v;
}

function runHook(type: ResourceType, ctx: HookContext<any, any>, eventType: ResourceWork["event_type"]): Promise<unknown> {
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
