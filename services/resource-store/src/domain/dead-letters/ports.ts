import type { TenantScope } from "@pragma/contracts";
import type { DeadLetterFilter, DeadLetterRecord } from "./model";
import type { SensitiveFields } from "./redact";

/**
 * The operator's reads and deletes of dead-letter entries. Writes that go with resource
 * state (an ingest failing its resource, a retry re-queuing it) are StoreTx's, in the
 * resources' own transactions.
 */
export interface DeadLetterRepository {
  list(scope: TenantScope, filter: DeadLetterFilter): Promise<DeadLetterRecord[]>;
  get(scope: TenantScope, eventId: string): Promise<DeadLetterRecord | null>;
  /** Oldest first. */
  entryKeys(scope: TenantScope, filter: DeadLetterFilter): Promise<EntryKey[]>;
  delete(scope: TenantScope, eventId: string): Promise<number>;
  deleteMany(scope: TenantScope, filter: DeadLetterFilter): Promise<number>;
}

export interface EntryKey {
  eventId: string;
  resourceId: string;
}

/** Type metadata from the provider workers; null when no worker answers (redaction then relies on heuristics). */
export interface TypeCatalog {
  sensitiveFields(provider: string, resourceType: string): Promise<SensitiveFields | null>;
}

export interface Clock {
  now(): Date;
}
