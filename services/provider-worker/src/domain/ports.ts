/**
 * What processing a work event needs from the outside world. src/data implements the
 * ledger and the resource log on Redis, src/amqp the publisher (and reads a delivery's
 * headers into a WorkInput); service.ts builds the real ones. Nothing here knows about
 * ioredis, amqplib or header names.
 */
import type { ResourceWork, ResultKind, WorkAttemptHistory } from "@pragma/contracts";
import type { ValueSealer } from "@pragma/crypto";
import type { Logger } from "@pragma/logger";
import type { DatabaseOptions, DbType, LogLine, Provider, ResourceType, SqlDatabase } from "@pragma/provider-sdk";
import type { CrashIsolation } from "./crash-isolation";

/** One delivery of a work message. */
export interface WorkInput {
  work: ResourceWork;
  copy: WorkCopy;
  correlationId: string | undefined;
  /** The message's own headers, opaque to the domain: the publisher carries them onto the copies it makes. */
  headers: Record<string, unknown>;
}

/** What the copy being delivered says about the event's past (amqp/work-headers.ts reads it). */
export interface WorkCopy {
  /** Runs that ended in a transient error and were re-queued. */
  retryCount: number;
  /** Deliveries that found the resource busy and waited in a delay tier. */
  leaseWaits: number;
  /** The unsuccessful runs so far, as the last copy recorded them (null: none yet). */
  history: WorkAttemptHistory | null;
  /** The broker's redeliveries of this copy (informative: deliveries are no attempts). */
  deliveryCount: number;
}

/** Why the worker dead-letters an event. */
export type WorkerDeadLetterReason = "permanent_error" | "retries_exhausted" | "delivery_limit";

export interface DeadLetterFacts {
  reason: WorkerDeadLetterReason;
  permanent: boolean;
  /** Redacted. */
  error: string;
  retryCount: number;
  history: WorkAttemptHistory;
}

/** What a completed event produced, so a redelivery can repeat it without running the hook again. */
export type StoredOutcome =
  | { kind: "succeeded"; payload: Record<string, unknown> }
  | { kind: "failed"; payload: Record<string, unknown>; deadLetter: DeadLetterFacts };

/** The resource's lease, held while a hook runs. */
export interface Lease {
  /** false once the lease could not be renewed (another holder may have taken over). */
  readonly held: boolean;
  release(): Promise<void>;
  /** In one atomic step: stores the outcome for redeliveries, appends the log lines, and releases the lease if still ours. */
  complete(outcome: StoredOutcome, lines: LogLine[]): Promise<void>;
}

/**
 * Entering a resource: the event already completed; the lease taken (runs: the start times
 * of the event's earlier runs; recorded: this run was recorded too, see EventLedger.enter);
 * or busy (another live holder, or a dead one whose liveness has yet to expire). Never waits.
 */
export type Entry = { done: StoredOutcome } | { lease: Lease; runs: string[]; recorded: boolean } | { busy: true };

/** The per-event record that survives the worker: outcomes, runs, leases. */
export interface EventLedger {
  /** With firstRunAt, an event with no earlier run has this run recorded in the same step (the common case in one round trip). */
  enter(work: ResourceWork, firstRunAt?: string): Promise<Entry>;
  /** Records a run: a hook is about to start (crashed runs are the ones that never end). */
  recordRun(eventId: string, startedAt: string): Promise<void>;
  /** Takes back a run enter() recorded when its hook may not start after all. */
  unrecordRun(eventId: string, startedAt: string): Promise<void>;
  /** Stores a failed outcome, before its result and dead letter are published. */
  recordFailure(eventId: string, outcome: StoredOutcome): Promise<void>;
}

/** The resource's lifecycle lines (GET /resources/{id}/logs). */
export interface ResourceLog {
  append(work: ResourceWork, ...lines: LogLine[]): Promise<void>;
}

/** Each resolves only once the broker confirmed. */
export interface WorkPublisher {
  publishResult(kind: ResultKind, payload: Record<string, unknown>, input: WorkInput): Promise<void>;
  /** Parks the event in a delay tier because the resource is busy (one more lease wait). */
  publishWait(input: WorkInput, delayMs: number): Promise<void>;
  /** Parks the event in a delay tier after a transient failure, with its new retry count and history. */
  publishRetry(input: WorkInput, retryCount: number, history: WorkAttemptHistory, delayMs: number): Promise<void>;
  publishDeadLetter(input: WorkInput, facts: DeadLetterFacts): Promise<void>;
}

/** The budgets an event gets. */
export interface WorkPolicy {
  tiersMs: readonly number[];
  maxRetries: number;
  /** Runs of an event that may crash (the worker killed mid-hook) before it is dead-lettered as a crash loop. */
  deliveryLimit: number;
  /** Waits after which a suspect (an event whose run crashed) runs beside other hooks rather than alone. */
  isolationWaits: number;
}

/** What running a hook needs. */
export interface HookRuntime {
  providers: ReadonlyMap<string, Provider>;
  /** Opens the sealed (sensitive) values of a work message in memory; seals sensitive outputs before they are published. */
  sealer: Pick<ValueSealer, "openDeep" | "sealSensitive">;
  /** A pushed provider's type, in the version deployed for the event's org (api.md §6); throws when that cannot be known now (requeue). */
  pushedType?: (work: ResourceWork) => Promise<ResourceType | undefined>;
  database(scope: { orgId: string; projectId: string }, dbType?: DbType, options?: DatabaseOptions): Promise<SqlDatabase>;
  /** Values that must never appear in a result or dead letter (registry passwords seen so far). */
  knownSecrets(): string[];
  logger: Logger;
  /** Aborted when the worker gives up waiting for in-flight hooks at shutdown. */
  shutdown: AbortSignal;
  hookTimeoutMs: number;
  /**
   * "started" is reported only for a hook still running after this long (0: always, before
   * the hook). A quicker one reports just its outcome: the resource goes pending → ready in
   * one step, which nobody could have told apart, for one message less per event.
   */
  startedReportDelayMs: number;
}

export interface ProcessDeps extends HookRuntime, WorkPublisher, WorkPolicy {
  ledger: EventLedger;
  resourceLog: ResourceLog;
  /** This process's hooks in flight (crash-isolation.ts). */
  hooks: CrashIsolation;
}
