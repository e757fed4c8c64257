import type { TenantScope } from "@pragma/contracts";
import type { DeadLetterFilter, DeadLetterRecord } from "./model";
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
