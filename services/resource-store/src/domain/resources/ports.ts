import type { TenantScope } from "@pragma/contracts";
import type { OutboxEventRecord, ResourceRecord } from "./model";

/** What use cases may do inside one database transaction. */
export interface StoreTx {
  /** Reads and locks the row until the transaction ends. */
  lockResource(scope: TenantScope, resourceId: string): Promise<ResourceRecord | null>;
  insertResource(r: ResourceRecord): Promise<void>;
  updateResource(r: ResourceRecord): Promise<void>;
  deleteResource(scope: TenantScope, resourceId: string): Promise<void>;
  insertEvent(e: OutboxEventRecord): Promise<void>;
}

export interface ResourceRepository {
  /** Runs fn in one transaction; retried once on a unique-key race between two creators. */
  transaction<T>(fn: (tx: StoreTx) => Promise<T>): Promise<T>;
  getResource(scope: TenantScope, resourceId: string): Promise<ResourceRecord | null>;
}

export interface Clock {
  now(): Date;
}
