import type { DeadLetterAttempt, InspectedResource, TenantScope } from "@pragma/contracts";
import type { DeadLetterFilter, DeadLetterRecord, NewOutboxEvent, RequeueTarget } from "./model";
import type { SensitiveFields } from "./redact";

export interface DeadLetterRepository {
  /**
   * One transaction: stores the entry unless its event id is already stored, and
   * fails the resource if it is still pending/processing on this very event (the
   * broker dead-lettered it without any result reaching the store).
   */
  ingest(record: DeadLetterRecord): Promise<{ inserted: boolean; resourceFailed: boolean }>;
  list(scope: TenantScope, filter: DeadLetterFilter): Promise<DeadLetterRecord[]>;
  get(scope: TenantScope, eventId: string): Promise<DeadLetterRecord | null>;
  /** Oldest first. */
  entryKeys(scope: TenantScope, filter: DeadLetterFilter): Promise<EntryKey[]>;
  delete(scope: TenantScope, eventId: string): Promise<number>;
  deleteMany(scope: TenantScope, filter: DeadLetterFilter): Promise<number>;
  /** Runs fn in one transaction; a throw rolls everything back (the entry stays). */
  requeue<T>(fn: (tx: RequeueTx) => Promise<T>): Promise<T>;
  /**
   * Retry-all's unit of work, one transaction for a chunk of entries (keys as entryKeys
   * gives them): locks those entries that are still stored (oldest first) and their
   * resources (in resource id order, as every multi-resource lock in this service), lets
   * `plan` pick the entries to retry and build their events, then removes exactly those
   * entries, writes the events and puts their resources back to pending. Returns how many.
   * Anything plan leaves out stays as it was; a throw rolls the whole chunk back.
   */
  requeueMany(scope: TenantScope, keys: readonly EntryKey[], plan: (entries: DeadLetterRecord[], targets: ReadonlyMap<string, RequeueTarget>) => PlannedRequeue[]): Promise<number>;
}

export interface EntryKey {
  eventId: string;
  resourceId: string;
}

export interface PlannedRequeue {
  /** The entry this event replaces. */
  entryId: string;
  event: NewOutboxEvent;
}

export interface RequeueTx {
  /**
   * Deletes and returns the entry (DELETE … RETURNING). A concurrent retry of the
   * same entry waits on the row lock and then finds nothing.
   */
  takeEntry(scope: TenantScope, eventId: string): Promise<DeadLetterRecord | null>;
  /** Reads and locks the resource row until the transaction ends. */
  lockResource(scope: TenantScope, resourceId: string): Promise<RequeueTarget | null>;
  insertEvent(event: NewOutboxEvent): Promise<void>;
  /** pending, pending_event_id = the new event, error cleared. */
  markPending(scope: TenantScope, resourceId: string, eventId: string, now: Date): Promise<void>;
}

/** Type metadata from the provider workers; null when no worker answers (redaction then relies on heuristics). */
export interface TypeCatalog {
  sensitiveFields(provider: string, resourceType: string): Promise<SensitiveFields | null>;
}

/** The worker-side record of an event's attempts; null when unavailable. */
export interface AttemptHistory {
  attempts(resource: InspectedResource, eventId: string): Promise<DeadLetterAttempt[] | null>;
}

export interface Clock {
  now(): Date;
}
