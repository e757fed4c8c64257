import type { DriftPolicy, EventType, LifecycleState, ResourceRef, TenantScope, WorkTarget } from "@pragma/contracts";

/** A resource as the domain sees it (plain data; the repository maps rows). */
export interface ResourceRecord {
  rowId: string;
  scope: TenantScope;
  resourceId: string;
  provider: string;
  resourceType: string;
  name: string;
  config: Record<string, unknown>;
  /** The config the last successful CREATE/UPDATE ran with: an UPDATE's previous_config. */
  appliedConfig: Record<string, unknown> | null;
  dependencies: ResourceRef[];
  ownerReferences: ResourceRef[];
  outputs: Record<string, unknown>;
  error: string | null;
  lifecycleState: LifecycleState;
  pendingEventId: string | null;
  provisioned: boolean;
  tags: string[] | null;
  /** An input changed while this resource was busy with older values: re-run it once more on success. */
  staleInputs: boolean;
  /** What differs from what was applied (drift.ts), null while nothing does. */
  drift: { detectedAt: Date; fields: string[] } | null;
  driftPolicy: DriftPolicy;
  /** The resource's one live observation (drift.ts); null: none scheduled. */
  observationId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export type OutboxStatus = "held" | "pending" | "published" | "cancelled";

export interface OutboxEventRecord {
  eventId: string;
  scope: TenantScope;
  resourceId: string;
  eventType: EventType;
  provider: string;
  resourceType: string;
  resourceName: string;
  payload: Record<string, unknown>;
  previousConfig: Record<string, unknown> | null;
  correlationId: string | null;
  /** held: waiting for dependencies (or, for a DELETE, for owned resources) and never relayed; cancelled: dropped before release. */
  status: OutboxStatus;
  createdAt: Date;
  publishedAt: Date | null;
}

/** Which resource, of which tenant, a message to a worker is about (its work and its observations). */
export function workTarget(r: ResourceRecord): WorkTarget {
  return {
    resource_id: r.resourceId,
    provider: r.provider,
    resource_type: r.resourceType,
    resource_name: r.name,
    org_id: r.scope.org_id,
    project_id: r.scope.project_id,
    space_id: r.scope.space_id,
  };
}
