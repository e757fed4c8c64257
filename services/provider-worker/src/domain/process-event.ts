import { lazyChild, unredactedChild, type Logger } from "@pragma/logger";
import { PermanentError, isPermanent, redactText, type ResourceType } from "@pragma/provider-sdk";
import { historyAfter, noRun, runsOf, type Runs } from "./attempts";
import { decideEntry, decideFailure, type EntryDecision } from "./decide";
import type { Lease, ProcessDeps, StoredOutcome, WorkInput, WorkerDeadLetterReason } from "./ports";
import { errMessage, startHook } from "./run-hook";
import { reportStarted } from "./started-report";

export type { ProcessDeps, WorkInput } from "./ports";
export type { ResultKind } from "@pragma/contracts";

/**
 * How an event ended, for the worker's metrics: its result published (succeeded, or failed
 * and dead-lettered), parked in a delay tier (retried after a transient error, or busy:
 * another event held the resource), or an earlier outcome republished (replayed). A throw
 * (requeued) is the caller's to count.
 */
export type EventOutcome = "succeeded" | "failed" | "retried" | "busy" | "replayed";

/** The logger's unredacted child (unredactedChild), made once per logger: for lines whose fields are fixed. */
const unredacted = new WeakMap<Logger, Logger>();
function unredactedOf(logger: Logger): Logger {
  let u = unredacted.get(logger);
  if (!u) unredacted.set(logger, (u = unredactedChild(logger)));
  return u;
}

/**
 * One work message, start to finish: gather the facts, take the decision (decide.ts), carry
 * it out. Resolving means "ack now": every result, delay copy or dead letter it produced has
 * been confirmed by the broker. Throwing means "requeue" (the broker or Redis is unreachable;
 * nothing was lost, the delivery limit bounds the loop).
 */
export async function processEvent(deps: ProcessDeps, input: WorkInput): Promise<EventOutcome> {
  const { work, copy } = input;
  const bindings = { eventId: work.event_id, resourceId: work.resource_id, provider: work.provider, resourceType: work.resource_type, eventType: work.event_type };
  // Most events write one line, "event succeeded", with these fixed fields (ids and type
  // names, no secret): it skips redaction, and the redacted child is made only if
  // something else is written (lazyChild).
  const log = lazyChild(deps.logger, bindings);
  const now = new Date().toISOString();

  // An unknown type never runs a hook, so it needs no lease (a redelivered copy fails the
  // same way again, which is what replaying its stored outcome would publish).
  const type = deps.providers.get(work.provider)?.types.get(work.resource_type) ?? (await deps.pushedType?.(work));
  if (!type) {
    return deadLetter(deps, input, log, { action: "dead-letter", reason: "permanent_error" }, new PermanentError(`unknown resource type ${work.provider}/${work.resource_type}`), noRun(copy, now));
  }

  // A completed event (redelivered after a crash between result and ack, or published twice
  // by the outbox) repeats its outcome instead of running the hook again. Checked together
  // with taking the resource's lease and, for a first run that may start, recording it: one
  // Redis round trip in the common case.
  const entry = await deps.ledger.enter(work, deps.hooks.neighbours() === "suspect" ? undefined : now);
  // Facts, decision and (for a run) the start below are synchronous: no other event of this
  // process can start a hook in between (crash-isolation.ts).
  const runs = "lease" in entry ? runsOf(copy, [...entry.runs, now], now) : undefined;
  const decision = decideEntry(
    "done" in entry ? { state: "done" } : "busy" in entry ? { state: "busy" } : { state: "entered", crashedRuns: runs!.crashed, neighbours: deps.hooks.neighbours(), waits: copy.leaseWaits },
    deps,
  );
  switch (decision.action) {
    case "replay": {
      const done = (entry as { done: StoredOutcome }).done;
      log.info({ outcome: done.kind }, "event already completed; republishing its result");
      await replay(deps, input, done);
      return "replayed";
    }
    case "wait":
      // Another event (or another copy of this one, or a killed replica whose liveness has
      // yet to expire) holds the resource. Waiting here would hold the delivery, and every
      // crash of this replica meanwhile would spend one of the broker's deliveries although
      // no hook ran (issue 27.5): the copy waits in a delay tier instead, acked. The same for
      // an event that must not run beside this process's other hooks (or they beside it).
      if ("lease" in entry) {
        // A suspect started here while this entry was on its way: its first run did not start.
        if (entry.recorded) await deps.ledger.unrecordRun(work.event_id, now);
        await entry.lease.release();
      }
      log.info({ waits: copy.leaseWaits + 1, suspect: (runs?.crashed ?? 0) > 0 }, "resource busy; delaying event");
      await deps.publishWait(input, decision.delayMs);
      return "busy";
    case "dead-letter": {
      // A crash loop: earlier runs killed their worker this often. Not run again.
      const lease = (entry as { lease: Lease }).lease;
      await lease.release().catch(() => undefined);
      return deadLetter(deps, input, log, decision, new PermanentError(`the worker stopped ${runs!.crashed} times before the hook finished (crash loop)`), { ...runs!, run: runs!.run - 1, ran: false });
    }
    case "run": {
      const { lease, recorded } = entry as { lease: Lease; recorded: boolean };
      const slot = deps.hooks.start(runs!.crashed > 0);
      try {
        if (!recorded) await deps.ledger.recordRun(work.event_id, now);
      } catch (err) {
        slot.end();
        await lease.release().catch(() => undefined);
        throw err;
      }
      return run(deps, input, log, type, lease, runs!, bindings, slot);
    }
  }
}

async function run(deps: ProcessDeps, input: WorkInput, log: Logger, type: ResourceType, lease: Lease, runs: Runs, bindings: Record<string, unknown>, slot: { end(): void }): Promise<EventOutcome> {
  const { work } = input;
  const base = baseOf(input);
  // The hook's attempt: earlier runs of this event (0 on the first), crashed ones included.
  const attempt = runs.run - 1;
  const started = reportStarted(deps, input, base, attempt);
  const hook = startHook(deps, work, type, attempt, log, started.append);
  // The slot is held until the hook has really stopped, even one that outlived its timeout.
  void hook.settled.finally(() => slot.end());
  /** Set once Lease.complete has released the lease with the outcome. */
  let released = false;
  try {
    let outputs: Record<string, unknown>;
    try {
      outputs = await hook.outputs;
    } catch (err) {
      await started.settle();
      const message = hook.scrub(errMessage(err));
      const decision = decideFailure({ permanent: isPermanent(err), retryCount: input.copy.retryCount }, deps);
      let outcome: EventOutcome;
      if (decision.action === "retry") {
        log.warn({ err: message, retryCount: decision.retryCount, delayMs: decision.delayMs }, "event failed; retrying after delay");
        await deps.publishRetry(input, decision.retryCount, historyAfter(runs, decision.retryCount, "retried", message), decision.delayMs);
        outcome = "retried";
      } else {
        outcome = await deadLetter(deps, input, log, decision, err, runs, message);
      }
      started.append({ level: "error", message: `${work.event_type} failed`, fields: { event_id: work.event_id, error: message } });
      return outcome;
    }

    await started.settle();
    const payload = { ...base, event_type: work.event_type, outputs, at: new Date().toISOString() };
    // Before publishing, in one Redis command: the outcome (if we crash after publishing,
    // the redelivery republishes it), the log lines, and the lease (the hook is done, so
    // the resource is free; the store ignores a result that is not for its pending event,
    // whatever order two events' results arrive in).
    await lease.complete({ kind: "succeeded", payload }, started.take({ at: new Date().toISOString(), level: "info", message: `${work.event_type} succeeded`, fields: { event_id: work.event_id } }));
    released = true;
    await deps.publishResult("succeeded", payload, input);
    unredactedOf(deps.logger).info({ ...bindings, attempt }, "event succeeded");
    return "succeeded";
  } finally {
    // Whatever ended the event (a failed publish too), a held line is not lost.
    started.close();
    // A hook that outlived its timeout keeps the resource until it really stops, so
    // the retry cannot run beside it.
    if (!released) void hook.settled.finally(() => lease.release().catch(() => undefined));
  }
}

async function replay(deps: ProcessDeps, input: WorkInput, done: StoredOutcome): Promise<void> {
  await deps.publishResult(done.kind, done.payload, input);
  if (done.kind === "failed") await deps.publishDeadLetter(input, done.deadLetter);
}

/** Stores the failed outcome, then publishes the failed result and the dead letter (with the attempt history). */
async function deadLetter(
  deps: ProcessDeps,
  input: WorkInput,
  log: Logger,
  decision: Extract<EntryDecision, { action: "dead-letter" }> | { reason: WorkerDeadLetterReason },
  err: unknown,
  runs: Runs,
  scrubbed?: string,
): Promise<"failed"> {
  const message = scrubbed ?? redactText(errMessage(err), deps.knownSecrets());
  const permanent = isPermanent(err);
  const retryCount = input.copy.retryCount;
  log.error({ err: message, retryCount, reason: decision.reason }, "event failed; dead-lettering");
  const payload = { ...baseOf(input), event_type: input.work.event_type, error: message, permanent, at: new Date().toISOString() };
  const deadLetter = { reason: decision.reason, permanent, error: message, retryCount, history: historyAfter(runs, retryCount, "failed", message) };
  await deps.ledger.recordFailure(input.work.event_id, { kind: "failed", payload, deadLetter });
  await deps.publishResult("failed", payload, input);
  await deps.publishDeadLetter(input, deadLetter);
  return "failed";
}

function baseOf({ work }: WorkInput) {
  return { event_id: work.event_id, resource_id: work.resource_id, org_id: work.org_id, project_id: work.project_id, space_id: work.space_id };
}
