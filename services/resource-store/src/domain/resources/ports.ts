import type { ResourceDefinition, TenantScope } from "@pragma/contracts";
import type { ValueSealer } from "@pragma/crypto";
import type { DeadLetterRecord } from "../dead-letters/model";
import type { OutboxEventRecord, OutboxStatus, ResourceRecord } from "./model";
import type { HistoryEntry } from "./history";

export interface ListFilter {
  provider?: string;
  resourceType?: string;
  /** All must be present on the resource. */
  tags?: string[];
  /** Keyset position: rows strictly after (name, resourceId). */
  after?: { name: string; resourceId: string };
  limit: number;
}

/**
 * One transaction bound to one tenant scope. There is no method that takes another
 * scope: everything reachable from here is that tenant's (and the database enforces
 * the same with row-level security, see the README).
 */
export interface StoreTx {
  readonly scope: TenantScope;
  /** Reads and locks the row until the transaction ends. */
  lockResource(resourceId: string): Promise<ResourceRecord | null>;
  /**
   * lockResource, plus the config of the row's pending event as written in the outbox
   * (references resolved): what a worker's result ran with, in the same round trip.
   */
  lockResourceWithPendingConfig(resourceId: string): Promise<{ resource: ResourceRecord; pendingConfig: Record<string, unknown> | null } | null>;
  /**
   * For a batch of worker results, in one round trip: locks every row (id order) with its
   * pending config, then (a later statement, so it sees every dependent committed before
   * the locks were granted) the dependents of `readyIds`. lockResourceWithPendingConfig and
   * lockDependents answer from it once per id; a write to a row drops its entry.
   */
  lockForResults(resourceIds: string[], readyIds: string[]): Promise<void>;
  getResource(resourceId: string): Promise<ResourceRecord | null>;
  /** Unlocked read of several resources (missing ids are simply absent). */
  getResources(resourceIds: string[]): Promise<ResourceRecord[]>;
  /**
   * Share-locks several resources (in id order) until the transaction ends: they cannot
   * change state meanwhile, and a transaction changing one of them finishes first.
   */
  shareLockResources(resourceIds: string[]): Promise<void>;
  /** Several resources, locked until the transaction ends (in id order; missing ids are simply absent). */
  lockResources(resourceIds: string[]): Promise<ResourceRecord[]>;
  /** Resources whose dependencies include resourceId, locked. */
  lockDependents(resourceId: string): Promise<ResourceRecord[]>;
  /** Resources whose owner_references include resourceId, locked. */
  lockOwned(resourceId: string): Promise<ResourceRecord[]>;
  /** resource id -> its dependency ids, for the given ids (graph walks). */
  dependencyEdges(resourceIds: string[]): Promise<Map<string, string[]>>;
  list(filter: ListFilter): Promise<ResourceRecord[]>;
  insertResource(r: ResourceRecord): Promise<void>;
  updateResource(r: ResourceRecord): Promise<void>;
  deleteResource(resourceId: string): Promise<void>;
  insertEvent(e: OutboxEventRecord): Promise<void>;
  getEvent(eventId: string): Promise<OutboxEventRecord | null>;
  updateEvent(eventId: string, change: { status: OutboxStatus; payload?: Record<string, unknown>; previousConfig?: Record<string, unknown> | null }): Promise<void>;
  /**
   * A retry's dead-letter entry, removed and returned (null when unknown or already taken:
   * a concurrent retry of the same entry waits on its row lock, then finds nothing).
   */
  takeDeadLetter(eventId: string): Promise<DeadLetterRecord | null>;
  /** Stores a dead letter's entry; false when its event id is already stored (a redelivered dead letter). */
  insertDeadLetter(record: DeadLetterRecord): Promise<boolean>;
  /** Retry-all: those of these entries still stored, locked, oldest first. */
  lockDeadLetters(eventIds: string[]): Promise<DeadLetterRecord[]>;
  deleteDeadLetters(eventIds: string[]): Promise<void>;
  /**
   * Observation cycles (migration 20261205160000_observation_chain, drift.ts). Takes a worker's
   * result into the resource's cycle when `tick` is the one the cycle waits for (no tick: a
   * generation's first result, taken while the cycle is unknown or the previous
   * generation's), and moves the cycle to `next` (dueAt null: never due, the type is not
   * observable). False: the result is not the cycle's (a restarted cycle's, a duplicate).
   */
  advanceObservation(resourceId: string, generation: string, tick: string | undefined, next: { tick: string; dueAt: Date | null }): Promise<boolean>;
  /**
   * The sweeper's restart: a new tick for the cycle if it is overdue at `now` (or unknown, or
   * the previous generation's), due again after `waitMs` doubled per restart since the
   * last result (at most 16 x). False: a result or another replica came first.
   */
  restartObservation(resourceId: string, generation: string, tick: string, now: Date, waitMs: number): Promise<boolean>;
  /** History rows (history.ts), written with the transaction; only Lifecycle calls it. */
  insertHistory(entries: HistoryEntry[]): Promise<void>;
  /** The first answer recorded for a write request's key in this scope (repeated-requests.ts), if any. */
  recallAnswer(requestKey: string): Promise<{ fingerprint: string; answer: unknown } | null>;
  /** Records a write request's first answer, committed with the write (a second record of the key fails the transaction). */
  recordAnswer(requestKey: string, fingerprint: string, answer: unknown): Promise<void>;
}

export interface ResourceRepository {
  /** Runs fn in one transaction scoped to `scope`; retried once on a unique-key race between two creators. */
  inScope<T>(scope: TenantScope, fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /** A transaction that is a single read (BEGIN, scope, the read and COMMIT travel together); a second statement throws. */
  readInScope<T>(scope: TenantScope, fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  /**
   * A transaction that only creates: fn may insert one resource (and then its one event)
   * and nothing else, reading nothing. It commits in one round trip; if a resource with
   * that id already exists, nothing is written and the answer is undefined (the caller
   * then takes the path that reads and locks the existing row).
   */
  createIfAbsent<T>(scope: TenantScope, fn: (tx: StoreTx) => Promise<T>): Promise<T | undefined>;
}

export interface ChangesQuery {
  /** A position from an earlier read; null: only the current position. */
  after: string | null;
  provider?: string;
  resourceType?: string;
  limit: number;
}

/** One resource changed since the position: its current row, or null when it is gone. */
export interface ChangedRow {
  resourceId: string;
  /** The position of its newest change. */
  at: string;
  record: ResourceRecord | null;
  /** What it was, for a deletion. */
  deleted: { provider: string; resourceType: string; name: string };
}

export interface ChangesRead {
  /** The position to read from next. */
  horizon: string;
  /** The position was older than the retention (or not this database's): re-list. */
  reset: boolean;
  rows: ChangedRow[];
  more?: boolean;
}

/** The change log the watch reads (GET /resources/watch, api.md §8). */
export interface ChangeLog {
  changesSince(scope: TenantScope, q: ChangesQuery): Promise<ChangesRead>;
}

/** The observation sweeper's one cross-tenant read (observe-sweeper.ts). */
export interface OverdueObservations {
  /**
   * Ready resources whose observation cycle is overdue at `now`, or that have none of their
   * current generation and have not changed since `unobservedBefore` (their first message
   * was lost, or they were ready before observation was on); at most `limit`.
   */
  overdue(now: Date, unobservedBefore: Date, limit: number): Promise<{ scope: TenantScope; resourceId: string }[]>;
}

/** Resource types (built-in from the workers; later also deployed ones). */
export interface TypeCatalog {
  list(scope: TenantScope): Promise<ResourceDefinition[]>;
}

export interface Clock {
  now(): Date;
}

/**
 * Seals sensitive values (AES-256-GCM, @pragma/crypto) where they stand in config and
 * outputs, so they are encrypted at rest and in the work message; opens them for
 * comparison, reveal and resolution.
 */
export type Sealer = Pick<ValueSealer, "isSealed" | "seal" | "open" | "openDeep" | "sealSensitive">;
