import type { ResourceRef } from "@pragma/contracts";
import { resourceId as idOf } from "@pragma/contracts";
import type { OutboxEventRecord, OutboxStatus, ResourceRecord } from "../domain/resources/model";
import { json } from "./pg";

/** Resource and outbox event rows: their columns, their values in column order, and the domain records they map to. */

export interface ResourceRow {
  row_id: string;
  org_id: string;
  project_id: string;
  space_id: string;
  resource_id: string;
  provider: string;
  resource_type: string;
  name: string;
  config: Record<string, unknown>;
  applied_config: Record<string, unknown> | null;
  dependencies: ResourceRef[];
  owner_references: ResourceRef[];
  outputs: Record<string, unknown>;
  error: string | null;
  lifecycle_state: string;
  pending_event_id: string | null;
  provisioned: boolean;
  tags: string[];
  has_tags: boolean;
  stale_inputs: boolean;
  drift: { detected_at: string; fields: string[] } | null;
  drift_policy: string;
  observation_id: string | null;
  created_at: Date;
  updated_at: Date;
}

export interface EventRow {
  event_id: string;
  org_id: string;
  project_id: string;
  space_id: string;
  resource_id: string;
  event_type: string;
  provider: string;
  resource_type: string;
  resource_name: string;
  payload: Record<string, unknown>;
  previous_config: Record<string, unknown> | null;
  correlation_id: string | null;
  status: string;
  created_at: Date;
  published_at: Date | null;
}

export const RESOURCE_COLUMNS = `row_id, org_id, project_id, space_id, resource_id, provider, resource_type, name, config, applied_config,
  dependencies, owner_references, outputs, error, lifecycle_state, pending_event_id, provisioned, tags, has_tags, stale_inputs,
  created_at, updated_at, drift, drift_policy, observation_id`;
/** A resource row (alias r) with its pending event's config (what a worker's result ran with), locked; callers add the key condition. */
export const LOCK_WITH_PENDING_CONFIG = `SELECT ${RESOURCE_COLUMNS.split(",")
  .map((c) => `r.${c.trim()}`)
  .join(", ")}, e.payload -> 'config' AS pending_config
  FROM resources r LEFT JOIN outbox_events e
    ON e.org_id = r.org_id AND e.project_id = r.project_id AND e.space_id = r.space_id AND e.event_id = r.pending_event_id
  WHERE r.org_id = $1 AND r.project_id = $2 AND r.space_id = $3`;
export const EVENT_COLUMNS = `event_id, org_id, project_id, space_id, resource_id, event_type, provider, resource_type, resource_name,
  payload, previous_config, correlation_id, status, created_at, published_at`;

/** `(columns) VALUES (…)` of a whole resource row, $1-$27 in resourceValues order. */
export const RESOURCE_VALUES = `(${RESOURCE_COLUMNS}, dependency_ids, owner_ids)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb, $12::jsonb, $13::jsonb, $14, $15, $16, $17, $18, $19, $20,
    $21, $22, $23::jsonb, $24, $25, $26, $27)`;

export function resourceValues(r: ResourceRecord): unknown[] {
  return [
    r.rowId,
    r.scope.org_id,
    r.scope.project_id,
    r.scope.space_id,
    r.resourceId,
    r.provider,
    r.resourceType,
    r.name,
    ...mutableValues(r),
    r.createdAt,
    r.updatedAt,
    ...driftValues(r),
    refIds(r.dependencies),
    refIds(r.ownerReferences),
  ];
}

/**
 * Placeholders for eventValues from $first on, with the casts a SELECT list needs (in
 * VALUES the target columns would give the types; in `INSERT … SELECT` nothing does).
 */
export function eventParams(first: number): string {
  const casts: Record<number, string> = { 9: "::jsonb", 10: "::jsonb", 13: "::timestamptz", 14: "::timestamptz" };
  return Array.from({ length: 15 }, (_, i) => `$${first + i}${casts[i] ?? ""}`).join(", ");
}

/** An event row in EVENT_COLUMNS order. */
export function eventValues(e: OutboxEventRecord): unknown[] {
  return [
    e.eventId,
    e.scope.org_id,
    e.scope.project_id,
    e.scope.space_id,
    e.resourceId,
    e.eventType,
    e.provider,
    e.resourceType,
    e.resourceName,
    json(e.payload),
    json(e.previousConfig),
    e.correlationId,
    e.status,
    e.createdAt,
    e.publishedAt,
  ];
}

/**
 * drift, drift_policy, observation_id (migration 20261205140100_drift). A record built
 * without them (code from before drift) writes the defaults: no drift, heal, none.
 */
export function driftValues(r: ResourceRecord): unknown[] {
  return [r.drift ? json({ detected_at: r.drift.detectedAt.toISOString(), fields: r.drift.fields }) : null, r.driftPolicy ?? "heal", r.observationId ?? null];
}

export const refIds = (refs: ResourceRef[]) => [...new Set(refs.map(idOf))];

/** config … stale_inputs, in RESOURCE_COLUMNS order. */
export function mutableValues(r: ResourceRecord): unknown[] {
  return [
    json(r.config),
    json(r.appliedConfig),
    json(r.dependencies),
    json(r.ownerReferences),
    json(r.outputs),
    r.error,
    r.lifecycleState,
    r.pendingEventId,
    r.provisioned,
    r.tags ?? [],
    r.tags !== null,
    r.staleInputs,
  ];
}

export function toRecord(row: ResourceRow): ResourceRecord {
  return {
    rowId: row.row_id,
    scope: { org_id: row.org_id, project_id: row.project_id, space_id: row.space_id },
    resourceId: row.resource_id,
    provider: row.provider,
    resourceType: row.resource_type,
    name: row.name,
    config: row.config,
    appliedConfig: row.applied_config ?? null,
    dependencies: row.dependencies,
    ownerReferences: row.owner_references,
    outputs: row.outputs,
    error: row.error,
    lifecycleState: row.lifecycle_state as ResourceRecord["lifecycleState"],
    pendingEventId: row.pending_event_id,
    provisioned: row.provisioned,
    tags: row.has_tags ? row.tags : null,
    staleInputs: row.stale_inputs,
    drift: row.drift ? { detectedAt: new Date(row.drift.detected_at), fields: row.drift.fields } : null,
    driftPolicy: row.drift_policy === "report" ? "report" : "heal",
    observationId: row.observation_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function toEvent(row: EventRow): OutboxEventRecord {
  return {
    eventId: row.event_id,
    scope: { org_id: row.org_id, project_id: row.project_id, space_id: row.space_id },
    resourceId: row.resource_id,
    eventType: row.event_type as OutboxEventRecord["eventType"],
    provider: row.provider,
    resourceType: row.resource_type,
    resourceName: row.resource_name,
    payload: row.payload,
    previousConfig: row.previous_config ?? null,
    correlationId: row.correlation_id,
    status: row.status as OutboxStatus,
    createdAt: row.created_at,
    publishedAt: row.published_at,
  };
}
