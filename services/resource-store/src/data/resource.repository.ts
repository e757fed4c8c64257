import type { ResourceRef, TenantScope } from "@pragma/contracts";
import { resourceId as idOf } from "@pragma/contracts";
import type { OutboxEventRecord, OutboxStatus, ResourceRecord } from "../domain/resources/model";
import type { ListFilter, ResourceRepository, StoreTx } from "../domain/resources/ports";
import type { QueryResultRow } from "pg";
import type { DeadLetterRecord } from "../domain/dead-letters/model";
import { MicroBatcher } from "../micro-batcher";
import { toDeadLetterRecord, type DeadLetterRow } from "./dead-letter-rows";
import { TransitionTracker, type TransitionObserver } from "./transition-tracker";
import type { HistoryEntry } from "../domain/resources/history";
import { historyInsert, historyInsertSql, historyRows } from "./resource-history.repository";
import { execute, isDeadlock, isUniqueViolation, json, literal, roundTrip, withConnection, type NamedStatement, type Pool, type PoolClient } from "./pg";

/** The NOLOGIN roles the migration creates; row-level security policies name them. */
export const TENANT_ROLE = "pragma_store_tenant";
export const RELAY_ROLE = "pragma_store_relay";

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

interface EventRow {
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
const LOCK_WITH_PENDING_CONFIG = `SELECT ${RESOURCE_COLUMNS.split(",")
  .map((c) => `r.${c.trim()}`)
  .join(", ")}, e.payload -> 'config' AS pending_config
  FROM resources r LEFT JOIN outbox_events e
    ON e.org_id = r.org_id AND e.project_id = r.project_id AND e.space_id = r.space_id AND e.event_id = r.pending_event_id
  WHERE r.org_id = $1 AND r.project_id = $2 AND r.space_id = $3`;
const EVENT_COLUMNS = `event_id, org_id, project_id, space_id, resource_id, event_type, provider, resource_type, resource_name,
  payload, previous_config, correlation_id, status, created_at, published_at`;
const IN_SCOPE = "org_id = $1 AND project_id = $2 AND space_id = $3";
/** The expression resources_list_idx is built on (migration 20261130000000). */
const TENANT_KEY = "(org_id || '/' || project_id || '/' || space_id)";
/**
 * The tenant role and the scope as transaction-local settings (`role` is the setting SET
 * ROLE changes), with parameters (org, project, space), prepared once per connection. The
 * role is subject to FORCE'd row-level security, so even a query that forgot its WHERE
 * clause sees only this scope's rows, and a write into another scope fails. It also makes
 * the transaction's prepared statements run their generic plan.
 * Every statement here finds rows by key, so the generic plan is the custom one, but the
 * planner cannot tell for the batch lock (`unnest($4::text[])` of unknown length, then
 * RLS and a join): in auto mode it re-planned that one on every run, at ~0.5 ms each.
 */
const ACT_AS_TENANT = `SELECT set_config('role', '${TENANT_ROLE}', true), set_config('pragma.org_id', $1, true),
    set_config('pragma.project_id', $2, true), set_config('pragma.space_id', $3, true),
    set_config('plan_cache_mode', 'force_generic_plan', true)`;

/** BEGIN and then ACT_AS_TENANT: how every store transaction opens, with its first batch. */
function beginInScope(client: PoolClient, scope: TenantScope): string[] {
  return ["BEGIN", actAsTenantPrepared(client, scope)];
}

function actAsTenantPrepared(client: PoolClient, scope: TenantScope): string {
  if (!scope.org_id || !scope.project_id || !scope.space_id) throw new Error("tenant scope is required");
  return execute(client, { name: "store.act-as-tenant", text: ACT_AS_TENANT, values: [scope.org_id, scope.project_id, scope.space_id] });
}

const sameScope = (a: TenantScope, b: TenantScope) => a.org_id === b.org_id && a.project_id === b.project_id && a.space_id === b.space_id;

/** What a create-only transaction hands over to be written: its one statement, in its tenant's scope. */
interface CreatePlan {
  scope: TenantScope;
  /** The new resource's state (for the transitions metric, once written). */
  state: string;
  /** Orders a batch: by tenant, then resource (two batches take their row locks in the same order). */
  key: string;
  statement: NamedStatement;
}

/** Creates gathered while one batch is in flight go together in the next, up to this many. */
const CREATE_BATCH_MAX = 32;

/** What a read-only transaction (readInScope) hands over: its statements, in its tenant's scope. */
interface ReadPlan {
  scope: TenantScope;
  statements: NamedStatement[];
}
type Rows = QueryResultRow[][];

/**
 * Reads gathered while READ_BATCHES_IN_FLIGHT batches are in flight go together in the
 * next, up to READ_BATCH_MAX; several may run at once, so one slow read (a long list)
 * holds back only its own batch, and reads leave most of the pool to the writers.
 */
const READ_BATCH_MAX = 32;
const READ_BATCHES_IN_FLIGHT = 3;

/**
 * The tenant role and scope as transaction-local settings, for a transaction already open,
 * with the values written in (the dead-letter paths, which find their results by position
 * in a batch and so send no PREPARE).
 */
export function actAsTenant(scope: TenantScope): string {
  if (!scope.org_id || !scope.project_id || !scope.space_id) throw new Error("tenant scope is required");
  return `SELECT set_config('role', '${TENANT_ROLE}', true), set_config('pragma.org_id', ${literal(scope.org_id)}, true),
    set_config('pragma.project_id', ${literal(scope.project_id)}, true), set_config('pragma.space_id', ${literal(scope.space_id)}, true)`;
}

/** Resources and their outbox events, on pg directly (see pg.ts for why not through Prisma). */
export class PgResourceRepository implements ResourceRepository {
  /**
   * Group commit for first applies: creates that arrive while a batch is in flight are
   * written together, in one transaction and one round trip (BEGIN, each tenant's scope
   * and its inserts, COMMIT), so concurrent applies share the round trip and the WAL
   * flush instead of paying one each. A lone create is a batch of one (the same round
   * trip as before). If a batch fails, nothing of it was committed and each create is
   * tried again on its own, so one bad apply fails alone.
   */
  private readonly creates = new MicroBatcher<CreatePlan, boolean>((plans) => togetherOrAlone(plans, (p) => this.writeCreates(p)), CREATE_BATCH_MAX);
  /**
   * Reads (readInScope: one read, no writes) share round trips the same way: one
   * read-only transaction carries each tenant's scope and its statements, in order. Each
   * statement sees its own snapshot, as it would in a transaction of its own under READ
   * COMMITTED, and row-level security still checks every row against the scope set just
   * before it.
   */
  private readonly reads = new MicroBatcher<ReadPlan, Rows>((plans) => togetherOrAlone(plans, (p) => this.runReads(p)), READ_BATCH_MAX, 0, READ_BATCHES_IN_FLIGHT);

  /**
   * onChanged: after each commit that updated or deleted resources, which ones (the gateways'
   * cache notifications). onTransition: after each commit, every lifecycle change it made.
   */
  constructor(
    private readonly pool: Pool,
    private readonly onChanged: (scope: TenantScope, resourceIds: Iterable<string>) => void = () => undefined,
    private readonly onTransition?: TransitionObserver,
  ) {}

  async inScope<T>(scope: TenantScope, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await withConnection(this.pool, async (client) => {
          const tx = new PgStoreTx(client, scope);
          const result = await fn(tx);
          await tx.commit();
          if (tx.changed.size > 0) this.onChanged(scope, tx.changed);
          if (this.onTransition) tx.transitions.report(this.onTransition);
          return result;
        });
      } catch (err) {
        // Two first applies of the same resource race on the unique key; the loser
        // retries and then sees (and locks) the winner's row. A deadlock (PostgreSQL
        // aborts one of the transactions in a cycle) is retried the same way.
        if (attempt === 0 && isUniqueViolation(err)) continue;
        if (attempt < 2 && isDeadlock(err)) continue;
        throw err;
      }
    }
  }

  async readInScope<T>(scope: TenantScope, fn: (tx: StoreTx) => Promise<T>): Promise<T> {
    return fn(new GroupedReadTx(scope, (plan) => this.reads.add(plan)));
  }

  /** One read-only transaction, one round trip: BEGIN, per read its tenant's scope (unless the last one's) and its statements, COMMIT. */
  private runReads(plans: ReadPlan[]): Promise<Rows[]> {
    for (const plan of plans) if (!plan.scope.org_id || !plan.scope.project_id || !plan.scope.space_id) throw new Error("tenant scope is required");
    return withConnection(this.pool, async (client) => {
      const statements = ["BEGIN"];
      const at: number[] = [];
      let scope: TenantScope | undefined;
      for (const plan of plans) {
        if (!scope || !sameScope(scope, plan.scope)) statements.push(actAsTenantPrepared(client, (scope = plan.scope)));
        at.push(statements.length);
        for (const q of plan.statements) statements.push(execute(client, q));
      }
      statements.push("COMMIT");
      const results = await roundTrip(client, statements);
      return plans.map((plan, i) => results.slice(at[i]!, at[i]! + plan.statements.length).map((r) => r.rows));
    });
  }

  async tryCreate<T>(scope: TenantScope, fn: (tx: StoreTx) => Promise<T>): Promise<T | undefined> {
    const tx = new CreateOnlyTx(scope);
    const result = await fn(tx);
    const plan = tx.plan();
    if (!(await this.creates.add(plan))) return undefined;
    this.onTransition?.("none", plan.state);
    return result;
  }

  /** One transaction, one round trip: BEGIN, per tenant its scope and its creates, COMMIT. Per plan: written or not. */
  private writeCreates(plans: CreatePlan[]): Promise<boolean[]> {
    return withConnection(this.pool, async (client) => {
      const order = plans.map((_, i) => i).sort((a, b) => (plans[a]!.key < plans[b]!.key ? -1 : plans[a]!.key > plans[b]!.key ? 1 : a - b));
      const statements = ["BEGIN"];
      const at: number[] = [];
      let scope: TenantScope | undefined;
      for (const i of order) {
        const plan = plans[i]!;
        if (!scope || !sameScope(scope, plan.scope)) statements.push(actAsTenantPrepared(client, (scope = plan.scope)));
        at[i] = statements.length;
        statements.push(execute(client, plan.statement));
      }
      statements.push("COMMIT");
      const results = await roundTrip(client, statements);
      return plans.map((_, i) => results[at[i]!]!.rows.length === 1);
    });
  }
}

/**
 * The statements of a store transaction, all by key in its tenant's scope; how they reach
 * PostgreSQL is the subclass's: PgStoreTx on a connection of its own, GroupedReadTx in a
 * round trip shared with other reads.
 */
abstract class ScopedTx implements StoreTx {
  protected readonly scopeValues: [string, string, string];
  /** Resources this transaction updated or deleted (a new row needs no notification: nothing cached it). */
  readonly changed = new Set<string>();
  readonly transitions = new TransitionTracker();
  /** prefetchForResults: locked rows not yet handed out, and dependents per target. */
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

  async prefetchForResults(resourceIds: string[], readyIds: string[]): Promise<void> {
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

  /** A row we write is no longer what prefetchForResults read. */
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

  async insertHistory(entries: HistoryEntry[]): Promise<void> {
    if (entries.length > 0) this.write(historyInsert(this.scope, entries));
  }
}

/**
 * Runs `plans` in one transaction (`run` answers per plan); if it fails, nothing of it was
 * committed (one failed statement aborts the transaction), so each plan is run again
 * alone and a bad one fails alone.
 */
async function togetherOrAlone<P, R>(plans: P[], run: (plans: P[]) => Promise<R[]>): Promise<PromiseSettledResult<R>[]> {
  try {
    return (await run(plans)).map((value) => ({ status: "fulfilled", value }));
  } catch (err) {
    if (plans.length === 1) return [{ status: "rejected", reason: err }];
    return Promise.allSettled(plans.map(async (plan) => (await run([plan]))[0]!));
  }
}

/**
 * Round trips are what a transaction costs here, so statements travel together: BEGIN
 * and the scope go with the first read, writes are held and go with the next read or
 * with COMMIT, as one simple-protocol batch of EXECUTEs of statements prepared once per
 * connection (values as literals, see pg.ts `execute`). Order is preserved, so a read
 * always sees the writes before it. An apply on this path is two round trips: BEGIN +
 * scope + lock, then the writes + COMMIT (a first apply without dependencies takes
 * CreateOnlyTx instead, one round trip).
 */
class PgStoreTx extends ScopedTx {
  private held: string[];

  constructor(
    private readonly client: PoolClient,
    scope: TenantScope,
  ) {
    super(scope);
    this.held = beginInScope(client, scope);
  }

  protected async readBatch(qs: NamedStatement[]): Promise<QueryResultRow[][]> {
    const batch = [...this.held, ...qs.map((q) => execute(this.client, q))];
    this.held = [];
    const results = await roundTrip(this.client, batch);
    return results.slice(results.length - qs.length).map((r) => r.rows);
  }

  /** Writes are always held, to go with the next read or COMMIT. */
  protected write(q: NamedStatement): void {
    this.held.push(execute(this.client, q));
  }

  async commit(): Promise<void> {
    await roundTrip(this.client, [...this.held, "COMMIT"]);
    this.held = [];
  }
}

/**
 * The transaction behind readInScope: one read (one or several statements), no writes,
 * handed to the repository's read batcher, which runs it with other reads in one
 * round trip.
 */
class GroupedReadTx extends ScopedTx {
  private sent = false;

  constructor(
    scope: TenantScope,
    private readonly submit: (plan: ReadPlan) => Promise<Rows>,
  ) {
    super(scope);
  }

  protected readBatch(qs: NamedStatement[]): Promise<QueryResultRow[][]> {
    if (this.sent) throw new Error("readInScope allows a single read");
    this.sent = true;
    return this.submit({ scope: this.scope, statements: qs });
  }

  protected write(): void {
    throw new Error("readInScope does not write");
  }
}

/**
 * The transaction behind tryCreate: the insert of a resource that is probably new, and of
 * its event, as one statement, which the repository writes with other creates (group
 * commit, writeCreates). The resource insert skips an existing row (ON CONFLICT DO
 * NOTHING) and the event is inserted from what it returned, so on a conflict nothing at
 * all is written and the create answers false.
 * Saves an apply of a new resource the round trip that reads and locks its (absent) row.
 * Anything else a caller tries here is a programming error and throws.
 */
class CreateOnlyTx implements StoreTx {
  private resource: ResourceRecord | undefined;
  private event: OutboxEventRecord | undefined;
  private readonly history: HistoryEntry[] = [];

  constructor(readonly scope: TenantScope) {}

  /** Written in the create's statement, and only if the resource was created. */
  async insertHistory(entries: HistoryEntry[]): Promise<void> {
    this.history.push(...entries);
  }

  async insertResource(r: ResourceRecord): Promise<void> {
    if (this.resource) throw new Error("a create-only transaction inserts one resource");
    this.resource = r;
  }

  async insertEvent(e: OutboxEventRecord): Promise<void> {
    if (this.event) throw new Error("a create-only transaction inserts one event");
    this.event = e;
  }

  /** What to write; the batch that writes it answers whether the resource (and its event) were written. */
  plan(): CreatePlan {
    const r = this.resource;
    if (!r) throw new Error("a create-only transaction must insert its resource");
    if (this.event && this.event.resourceId !== r.resourceId) throw new Error("a create-only transaction inserts its resource's event only");
    // History goes in the same statement, gated on the insert: nothing when the row existed.
    const statement = this.event
      ? {
          name: "store.create-resource-with-event",
          text: `WITH created AS (INSERT INTO resources ${RESOURCE_VALUES} ON CONFLICT DO NOTHING RETURNING row_id),
            history AS (${historyInsertSql(43, "EXISTS (SELECT 1 FROM created)")})
            INSERT INTO outbox_events (${EVENT_COLUMNS})
            SELECT ${eventParams(28)} FROM created
            RETURNING event_id`,
          values: [...resourceValues(r), ...eventValues(this.event), historyRows(this.scope, this.history)],
        }
      : {
          name: "store.create-resource",
          text: `WITH created AS (INSERT INTO resources ${RESOURCE_VALUES} ON CONFLICT DO NOTHING RETURNING row_id),
            history AS (${historyInsertSql(28, "EXISTS (SELECT 1 FROM created)")})
            SELECT row_id FROM created`,
          values: [...resourceValues(r), historyRows(this.scope, this.history)],
        };
    return { scope: this.scope, state: r.lifecycleState, key: `${this.scope.org_id}/${this.scope.project_id}/${this.scope.space_id}/${r.resourceId}`, statement };
  }

  private refuse(): never {
    throw new Error("a create-only transaction neither reads nor changes existing rows");
  }
  lockResource = () => this.refuse();
  lockResourceWithPendingConfig = () => this.refuse();
  prefetchForResults = () => this.refuse();
  getResource = () => this.refuse();
  /** Asked for no ids (a resource without dependencies), there is nothing to read. */
  getResources = async (ids: string[]): Promise<ResourceRecord[]> => (ids.length === 0 ? [] : this.refuse());
  shareLockResources = () => this.refuse();
  lockDependents = () => this.refuse();
  lockOwned = () => this.refuse();
  dependencyEdges = () => this.refuse();
  list = () => this.refuse();
  updateResource = () => this.refuse();
  deleteResource = () => this.refuse();
  lockResources = () => this.refuse();
  takeDeadLetter = () => this.refuse();
  lockDeadLetters = () => this.refuse();
  deleteDeadLetters = () => this.refuse();
  getEvent = () => this.refuse();
  updateEvent = () => this.refuse();
}

/** `(columns) VALUES (…)` of a whole resource row, $1-$27 in resourceValues order. */
const RESOURCE_VALUES = `(${RESOURCE_COLUMNS}, dependency_ids, owner_ids)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11::jsonb, $12::jsonb, $13::jsonb, $14, $15, $16, $17, $18, $19, $20,
    $21, $22, $23::jsonb, $24, $25, $26, $27)`;

function resourceValues(r: ResourceRecord): unknown[] {
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
 * drift, drift_policy, observation_id (migration 20261205120100_drift). A record built
 * without them (code from before drift) writes the defaults: no drift, heal, none.
 */
function driftValues(r: ResourceRecord): unknown[] {
  return [r.drift ? json({ detected_at: r.drift.detectedAt.toISOString(), fields: r.drift.fields }) : null, r.driftPolicy ?? "heal", r.observationId ?? null];
}

/**
 * Placeholders for eventValues from $first on, with the casts a SELECT list needs (in
 * VALUES the target columns would give the types; in `INSERT … SELECT` nothing does).
 */
function eventParams(first: number): string {
  const casts: Record<number, string> = { 9: "::jsonb", 10: "::jsonb", 13: "::timestamptz", 14: "::timestamptz" };
  return Array.from({ length: 15 }, (_, i) => `$${first + i}${casts[i] ?? ""}`).join(", ");
}

/** An event row in EVENT_COLUMNS order. */
function eventValues(e: OutboxEventRecord): unknown[] {
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

const refIds = (refs: ResourceRef[]) => [...new Set(refs.map(idOf))];

/** config … stale_inputs, in RESOURCE_COLUMNS order. */
function mutableValues(r: ResourceRecord): unknown[] {
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

function toEvent(row: EventRow): OutboxEventRecord {
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
