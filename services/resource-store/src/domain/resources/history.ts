import { AppError } from "@pragma/errors";
import { redactText } from "@pragma/logger";
import type { HistoryKind, ResourceHistory, TenantScope } from "@pragma/contracts";
import { normalizeResourceId } from "./resource-id";
import type { ResourceRepository } from "./ports";

/**
 * One step in a resource's history (migration 20261205140000_resource_history). Written
 * only through Lifecycle.record, in the transaction that takes the step. `summary` must
 * never hold a config or output value: it is built here from event types, states and
 * error text that redactText has scrubbed.
 */
export interface HistoryEntry {
  resourceId: string;
  kind: HistoryKind;
  eventId: string | null;
  /** null: the repository takes the event's correlation id (a worker's result carries none). */
  requestId: string | null;
  summary: string;
  at: Date;
}

export interface StoredHistoryEntry extends HistoryEntry {
  seq: string;
}

/** Reads a resource's history, newest first. */
export interface HistoryReader {
  list(scope: TenantScope, resourceId: string, limit: number): Promise<StoredHistoryEntry[]>;
}

const SUMMARY_MAX = 500;

/** Error text as history keeps it: scrubbed of secrets (URL passwords, key=value secrets) and cut short. */
export function historyText(text: string): string {
  const clean = redactText(text);
  return clean.length > SUMMARY_MAX ? `${clean.slice(0, SUMMARY_MAX - 1)}…` : clean;
}

/** NOT_FOUND only when the resource has neither history nor a row (one from before history was kept has an empty one). */
export async function listHistory(deps: { history: HistoryReader; repo: ResourceRepository }, scope: TenantScope, rawId: string, limit: number): Promise<ResourceHistory> {
  const id = normalizeResourceId(rawId);
  const rows = id ? await deps.history.list(scope, id, limit) : [];
  if (!id || (rows.length === 0 && !(await deps.repo.readInScope(scope, (tx) => tx.getResource(id))))) {
    throw new AppError("NOT_FOUND", `Resource not found: ${rawId}`);
  }
  return {
    resource_id: id,
    items: rows.map((r) => ({ at: r.at.toISOString(), kind: r.kind, event_id: r.eventId, request_id: r.requestId, summary: r.summary })),
  };
}

/** A dead letter in its resource's history (its error was scrubbed when the entry was built). */
export function deadLetteredEntry(d: { resourceId: string; eventId: string; eventType: string; errorMessage: string; correlationId: string | null; failedAt: Date }): HistoryEntry {
  return { resourceId: d.resourceId, kind: "dead_lettered", eventId: d.eventId, requestId: d.correlationId, summary: historyText(`${d.eventType} dead-lettered: ${d.errorMessage}`), at: d.failedAt };
}
