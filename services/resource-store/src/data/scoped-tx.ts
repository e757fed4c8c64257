import type { TenantScope } from "@pragma/contracts";
import type { QueryResultRow } from "pg";
import type { DeadLetterRecord } from "../domain/dead-letters/model";
import type { OutboxEventRecord, OutboxStatus, ResourceRecord } from "../domain/resources/model";
import type { ListFilter, StoreTx } from "../domain/resources/ports";
import type { HistoryEntry } from "../domain/resources/history";
import { toDeadLetterRecord, type DeadLetterRow } from "./dead-letter-rows";
import { json, type NamedStatement } from "./pg";
import {
  EVENT_COLUMNS,
  eventParams,
  eventValues,
  LOCK_WITH_PENDING_CONFIG,
  driftValues,
  mutableValues,
  refIds,
  RESOURCE_COLUMNS,
  RESOURCE_VALUES,
  resourceValues,
  toEvent,
  toRecord,
  type EventRow,
  type ResourceRow,
} from "./resource-rows";
import { historyInsert } from "./resource-history.repository";
import { IN_SCOPE, TENANT_KEY } from "./tenant-sql";
import { TransitionTracker } from "./transition-tracker";

/**
 * The statements of a store transaction, all by key in its tenant's scope; how they reach
 * PostgreSQL is the subclass's: PgStoreTx on a connection of its own, GroupedReadTx in a
 * round trip shared with other reads.
 */
export abstract class ScopedTx implements StoreTx {
  protected readonly scopeValues: [string, string, string];
  /** Resources this transaction updated or deleted (a new row needs no notification: nothing cached it). */
  readonly changed = new Set<string>();
  readonly transitions = new TransitionTracker();
  /** lockForResults: locked rows not yet handed out, and dependents per target. */
  private readonly prefetched = new Map<string, { resource: ResourceRecord; pendingConfig: Record<string, unknown> | null }>();
  private readonly prefetchedDependents = new Map<string, string[]>();

  constructor(readonly scope: TenantScope) {
    this.scopeValues = [scope.org_id, scope.project_id, scope.space_id];
  }

  /** Several reads in one round trip (each statement its own snapshot, in order); rows per read. */
  protected abstract readBatch(qs: NamedStatement[]): Promise<QueryResultRow[][]>;
  protected abstract write(q: NamedStatement): void;

  private async read<R extends QueryResultRow>(q: NamedStatement): Promise<R[]> {
    return (await this.readBatch([q]))[0] as R[];
  }



  private async resources(name: string, where: string, extra: unknown[], suffix = ""): Promise<ResourceRecord[]> {
    const rows = await this.read<ResourceRow>({
      name,
      text: `SELECT ${RESOURCE_COLUMNS} FROM resources WHERE ${IN_SCOPE} AND ${where} ${suffix}`,
      values: [...this.scopeValues, ...extra],
    });
    return this.seen(rows.map(toRecord));
  }

  async lockResource(resourceId: string): Promise<ResourceRecord | null> {
    return (await this.resources("store.lock-resource", "resource_id = $4", [resourceId], "FOR UPDATE"))[0] ?? null;
  }

  async lockForResults(resourceIds: string[], readyIds: string[]): Promise<void> {
    if (resourceIds.length === 0) return;
    const [locked, edges] = await this.readBatch([
      {
        name: "store.prefetch-lock",
        text: `SELECT x.* FROM unnest($4::text[]) AS ids(id) CROSS JOIN LATERAL (
            ${LOCK_WITH_PENDING_CONFIG} AND r.resource_id = ids.id FOR UPDATE OF r OFFSET 0) x`,
        values: [...this.scopeValues, [...new Set(resourceIds)].sort()],
      },
      {
        name: "store.prefetch-dependents",
        text: `SELECT target_id, resource_id FROM resource_edges WHERE ${IN_SCOPE} AND kind = 'dependency' AND target_id = ANY($4::text[])`,
        values: [...this.scopeValues, [...new Set(readyIds)]],
      },
    ]);
    for (const row of locked as (ResourceRow & { pending_config: Record<string, unknown> | null })[]) {
      const resource = toRecord(row);
      this.transitions.saw([resource]);
      this.prefetched.set(row.resource_id, { resource, pendingConfig: row.pending_config ?? null });
    }
    for (const id of readyIds) this.prefetchedDependents.set(id, []);
    for (const e of edges as { target_id: string; resource_id: string }[]) this.prefetchedDependents.get(e.target_id)?.push(e.resource_id);
  }

  async lockResourceWithPendingConfig(resourceId: string): Promise<{ resource: ResourceRecord; pendingConfig: Record<string, unknown> | null } | null> {
    const cached = this.prefetched.get(resourceId);
    if (cached) {
      this.prefetched.delete(resourceId);
      return cached;
    }
    const rows = await this.read<ResourceRow & { pending_config: Record<string, unknown> | null }>({
      name: "store.lock-resource-with-pending-config",
      text: `${LOCK_WITH_PENDING_CONFIG} AND r.resource_id = $4 FOR UPDATE OF r`,
      values: [...this.scopeValues, resourceId],
    });
    const row = rows[0];
    return row ? { resource: this.seen([toRecord(row)])[0]!, pendingConfig: row.pending_config ?? null } : null;
  }

  async getResource(resourceId: string): Promise<ResourceRecord | null> {
    return (await this.resources("store.get-resource", "resource_id = $4", [resourceId]))[0] ?? null;
  }

  async getResources(resourceIds: string[]): Promise<ResourceRecord[]> {
    return this.byIds("store.get-resources", resourceIds, "");
  }

  async shareLockResources(resourceIds: string[]): Promise<void> {
    await this.byIds("store.share-lock", resourceIds, "FOR SHARE");
  }

  /**
   * Rows by a list of ids, one unique-key lookup per id. With "resource_id = ANY($4)" the
   * planner, whose statistics know nothing yet of a tenant that is new or growing fast,
   * estimates one row for the tenant, keeps the id list as a filter and reads every row
   * of the tenant (a LATERAL join gets flattened into the same plan); OFFSET 0 keeps the
   * per-id subquery as written. Ids are sorted, so locks are always taken in one order.
   */
  private async byIds(name: string, resourceIds: string[], lock: "" | "FOR UPDATE" | "FOR SHARE"): Promise<ResourceRecord[]> {
    if (resourceIds.length === 0) return [];
    const rows = await this.read<ResourceRow>({
      name,
      text: `SELECT r.* FROM unnest($4::text[]) AS ids(id) CROSS JOIN LATERAL (
          SELECT ${RESOURCE_COLUMNS} FROM resources WHERE ${IN_SCOPE} AND resource_id = ids.id ${lock} OFFSET 0) r
        ORDER BY r.resource_id`,
      values: [...this.scopeValues, [...new Set(resourceIds)].sort()],
    });
    return this.seen(rows.map(toRecord));
  }

  private seen(records: ResourceRecord[]): ResourceRecord[] {
    this.transitions.saw(records);
    return records;
  }

  async lockResources(resourceIds: string[]): Promise<ResourceRecord[]> {
    return this.byIds("store.lock-by-ids", resourceIds, "FOR UPDATE");
  }

  async lockDependents(resourceId: string): Promise<ResourceRecord[]> {
    return this.lockEdgeSources("dependency", resourceId);
  }

  async lockOwned(resourceId: string): Promise<ResourceRecord[]> {
    return this.lockEdgeSources("owner", resourceId);
  }

  /**
   * The ids come from resource_edges first, then exactly those rows are locked by key.
   * One statement with a subquery lets the planner (under RLS, which keeps the subquery
   * from becoming an index condition) walk every row of the tenant instead, and
   * FOR UPDATE then waits on whatever else that tenant is writing. Most resources have
   * no dependents, so the common case is the one small read. Ordered locking keeps two
   * result transactions from deadlocking on shared dependents.
   */
  private async lockEdgeSources(kind: "dependency" | "owner", targetId: string): Promise<ResourceRecord[]> {
    const known = kind === "dependency" ? this.prefetchedDependents.get(targetId) : undefined;
    if (known) {
      this.prefetchedDependents.delete(targetId);
      return this.byIds("store.lock-by-ids", known, "FOR UPDATE");
    }
    const edges = await this.read<{ resource_id: string }>({
      name: `store.edges-${kind}`,
      text: `SELECT resource_id FROM resource_edges WHERE ${IN_SCOPE} AND kind = '${kind}' AND target_id = $4`,
      values: [...this.scopeValues, targetId],
    });
    return this.byIds("store.lock-by-ids", edges.map((e) => e.resource_id), "FOR UPDATE");
  }

  async dependencyEdges(resourceIds: string[]): Promise<Map<string, string[]>> {
    if (resourceIds.length === 0) return new Map();
    const rows = await this.read<{ resource_id: string; dependency_ids: string[] }>({
      name: "store.dependency-edges",
      text: `SELECT r.* FROM unnest($4::text[]) AS ids(id) CROSS JOIN LATERAL (
          SELECT resource_id, dependency_ids FROM resources WHERE ${IN_SCOPE} AND resource_id = ids.id OFFSET 0) r`,
      values: [...this.scopeValues, resourceIds],
    });
    return new Map(rows.map((r) => [r.resource_id, r.dependency_ids]));
  }

  async list(f: ListFilter): Promise<ResourceRecord[]> {
    // One statement for every filter combination: an absent filter is a NULL parameter.
    const rows = await this.read<ResourceRow>({
      name: "store.list-resources",
      // The tenant key expression matches resources_list_idx, which walks the tenant in
      // (name, resource_id) order from the cursor on; names are never empty, so ('', '')
      // is "from the start".
      text: `SELECT ${RESOURCE_COLUMNS} FROM resources
        WHERE ${TENANT_KEY} = $10 AND ${IN_SCOPE}
          AND ($4::text IS NULL OR provider = $4)
          AND ($5::text IS NULL OR resource_type = $5)
          AND ($6::text[] IS NULL OR tags @> $6::text[])
          AND (name, resource_id) > ($7, $8)
        ORDER BY name, resource_id
        LIMIT $9`,
      values: [
        ...this.scopeValues,
        f.provider ?? null,
        f.resourceType ?? null,
        f.tags && f.tags.length > 0 ? f.tags : null,
        f.after?.name ?? "",
        f.after?.resourceId ?? "",
        f.limit,
        this.scopeValues.join("/"),
      ],
    });
    return rows.map(toRecord);
  }

  /** A row we write is no longer what lockForResults read. */
  private forget(resourceId: string): void {
    this.prefetched.delete(resourceId);
  }

  async insertResource(r: ResourceRecord): Promise<void> {
    this.forget(r.resourceId);
    this.transitions.wrote(r.resourceId, r.lifecycleState);
    this.write({ name: "store.insert-resource", text: `INSERT INTO resources ${RESOURCE_VALUES}`, values: resourceValues(r) });
  }

  async updateResource(r: ResourceRecord): Promise<void> {
    this.forget(r.resourceId);
    this.transitions.wrote(r.resourceId, r.lifecycleState);
    this.changed.add(r.resourceId);
    // Identity and created_at never change.
    this.write({
      name: "store.update-resource",
      text: `UPDATE resources SET config = $2::jsonb, applied_config = $3::jsonb, dependencies = $4::jsonb, owner_references = $5::jsonb,
          outputs = $6::jsonb, error = $7, lifecycle_state = $8, pending_event_id = $9, provisioned = $10, tags = $11, has_tags = $12,
          stale_inputs = $13, updated_at = $14, dependency_ids = $15, owner_ids = $16,
          drift = $17::jsonb, drift_policy = $18, observation_id = $19
        WHERE row_id = $1`,
      values: [r.rowId, ...mutableValues(r), r.updatedAt, refIds(r.dependencies), refIds(r.ownerReferences), ...driftValues(r)],
    });
  }

  async deleteResource(resourceId: string): Promise<void> {
    this.forget(resourceId);
    this.transitions.wrote(resourceId, "deleted");
    this.changed.add(resourceId);
    this.write({ name: "store.delete-resource", text: `DELETE FROM resources WHERE ${IN_SCOPE} AND resource_id = $4`, values: [...this.scopeValues, resourceId] });
  }

  async insertEvent(e: OutboxEventRecord): Promise<void> {
    this.write({
      name: "store.insert-event",
      text: `INSERT INTO outbox_events (${EVENT_COLUMNS}) VALUES (${eventParams(1)})`,
      values: eventValues(e),
    });
  }

  async getEvent(eventId: string): Promise<OutboxEventRecord | null> {
    const rows = await this.read<EventRow>({
      name: "store.get-event",
      text: `SELECT ${EVENT_COLUMNS} FROM outbox_events WHERE ${IN_SCOPE} AND event_id = $4`,
      values: [...this.scopeValues, eventId],
    });
    return rows[0] ? toEvent(rows[0]) : null;
  }

  async updateEvent(eventId: string, change: { status: OutboxStatus; payload?: Record<string, unknown>; previousConfig?: Record<string, unknown> | null }): Promise<void> {
    for (const [id, p] of this.prefetched) if (p.resource.pendingEventId === eventId) this.forget(id);
    // payload: NULL keeps the stored one; previous_config is replaced only when given.
    this.write({
      name: "store.update-event",
      text: `UPDATE outbox_events SET status = $5, payload = COALESCE($6::jsonb, payload),
          previous_config = CASE WHEN $7::boolean THEN $8::jsonb ELSE previous_config END
        WHERE ${IN_SCOPE} AND event_id = $4`,
      values: [...this.scopeValues, eventId, change.status, json(change.payload), change.previousConfig !== undefined, json(change.previousConfig)],
    });
  }

  // Dead-letter entries (the tenant role may read and remove its scope's, migration
  // 20261205020000): a retry removes its entry in the transaction that re-queues the
  // resource, so both happen or neither.

  async takeDeadLetter(eventId: string): Promise<DeadLetterRecord | null> {
    const rows = await this.read<DeadLetterRow>({
      name: "store.take-dead-letter",
      text: `DELETE FROM dead_letters WHERE ${IN_SCOPE} AND event_id = $4 RETURNING *`,
      values: [...this.scopeValues, eventId],
    });
    return rows[0] ? toDeadLetterRecord(rows[0]) : null;
  }

  async insertDeadLetter(r: DeadLetterRecord): Promise<boolean> {
    const rows = await this.read<{ event_id: string }>({
      name: "store.insert-dead-letter",
      text: `INSERT INTO dead_letters (event_id, org_id, project_id, space_id, resource_id, provider, resource_type, resource_name,
          event_type, payload, error_message, reason, attempt_count, attempts, correlation_id, failed_at, created_at)
        VALUES ($4, $1, $2, $3, $5, $6, $7, $8, $9, $10::jsonb, $11, $12, $13, $14::jsonb, $15, $16, $17)
        ON CONFLICT (event_id) DO NOTHING RETURNING event_id`,
      values: [...this.scopeValues, r.eventId, r.resourceId, r.provider, r.resourceType, r.resourceName, r.eventType,
        json(r.payload), r.errorMessage, r.reason, r.attemptCount, json(r.attempts), r.correlationId, r.failedAt, r.createdAt],
    });
    return rows.length === 1;
  }

  async lockDeadLetters(eventIds: string[]): Promise<DeadLetterRecord[]> {
    if (eventIds.length === 0) return [];
    const rows = await this.read<DeadLetterRow>({
      name: "store.lock-dead-letters",
      text: `SELECT * FROM dead_letters WHERE ${IN_SCOPE} AND event_id = ANY($4::text[]) ORDER BY failed_at, event_id FOR UPDATE`,
      values: [...this.scopeValues, eventIds],
    });
    return rows.map(toDeadLetterRecord);
  }

  async deleteDeadLetters(eventIds: string[]): Promise<void> {
    if (eventIds.length === 0) return;
    this.write({ name: "store.delete-dead-letters", text: `DELETE FROM dead_letters WHERE ${IN_SCOPE} AND event_id = ANY($4::text[])`, values: [...this.scopeValues, eventIds] });
  }

  // Observation cycles (migration 20261205160000_observation_chain): one upsert each, whose
  // WHERE is the check, so two results (or a result and a sweeper) cannot both win.

  async advanceObservation(resourceId: string, generation: string, tick: string | undefined, next: { tick: string; dueAt: Date | null }): Promise<boolean> {
    const rows = await this.read<{ taken: number }>({
      name: "store.advance-observation",
      text: `INSERT INTO resource_observations AS o (org_id, project_id, space_id, resource_id, generation, tick, due_at)
          VALUES ($1, $2, $3, $4, $5, $7, COALESCE($8::timestamptz, 'infinity'))
        ON CONFLICT (org_id, project_id, space_id, resource_id) DO UPDATE
          SET generation = EXCLUDED.generation, tick = EXCLUDED.tick, due_at = EXCLUDED.due_at, restarts = 0
          WHERE CASE WHEN $6::text IS NULL THEN o.generation <> EXCLUDED.generation ELSE o.generation = EXCLUDED.generation AND o.tick = $6 END
        RETURNING 1 AS taken`,
      values: [...this.scopeValues, resourceId, generation, tick ?? null, next.tick, next.dueAt],
    });
    return rows.length === 1;
  }

  async restartObservation(resourceId: string, generation: string, tick: string, now: Date, waitMs: number): Promise<boolean> {
    const rows = await this.read<{ taken: number }>({
      name: "store.restart-observation",
      text: `INSERT INTO resource_observations AS o (org_id, project_id, space_id, resource_id, generation, tick, due_at, restarts)
          VALUES ($1, $2, $3, $4, $5, $6, $7::timestamptz + make_interval(secs => $8::float8 / 1000), 1)
        ON CONFLICT (org_id, project_id, space_id, resource_id) DO UPDATE
          SET generation = EXCLUDED.generation, tick = EXCLUDED.tick,
            restarts = CASE WHEN o.generation = EXCLUDED.generation THEN o.restarts + 1 ELSE 1 END,
            due_at = $7::timestamptz + make_interval(secs => $8::float8 / 1000
              * power(2, least(CASE WHEN o.generation = EXCLUDED.generation THEN o.restarts ELSE 0 END, 4)))
          WHERE o.due_at < $7 OR o.generation <> EXCLUDED.generation
        RETURNING 1 AS taken`,
      values: [...this.scopeValues, resourceId, generation, tick, now, waitMs],
    });
    return rows.length === 1;
  }

  async insertHistory(entries: HistoryEntry[]): Promise<void> {
    if (entries.length > 0) this.write(historyInsert(this.scope, entries));
  }

  // A write request's first answer (migration 20261205120000, domain/resources/repeated-requests.ts).

  async recallAnswer(requestKey: string): Promise<{ fingerprint: string; answer: unknown } | null> {
    const rows = await this.read<{ fingerprint: string; answer: unknown }>({
      name: "store.recall-answer",
      text: `SELECT fingerprint, answer FROM request_answers WHERE ${IN_SCOPE} AND request_key = $4`,
      values: [...this.scopeValues, requestKey],
    });
    return rows[0] ?? null;
  }

  async recordAnswer(requestKey: string, fingerprint: string, answer: unknown): Promise<void> {
    this.write({ name: "store.record-answer", text: `INSERT INTO request_answers (org_id, project_id, space_id, request_key, fingerprint, answer) VALUES ($1, $2, $3, $4, $5, $6::jsonb)`, values: [...this.scopeValues, requestKey, fingerprint, json(answer)] });
  }
}
