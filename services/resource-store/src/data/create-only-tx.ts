import type { TenantScope } from "@pragma/contracts";
import type { OutboxEventRecord, ResourceRecord } from "../domain/resources/model";
import type { StoreTx } from "../domain/resources/ports";
import type { HistoryEntry } from "../domain/resources/history";
import { execute, json, roundTrip, withConnection, type NamedStatement, type Pool } from "./pg";
import { EVENT_COLUMNS, eventParams, eventValues, RESOURCE_VALUES, resourceValues } from "./resource-rows";
import { historyInsertSql, historyRows } from "./resource-history.repository";
import { actAsTenantPrepared, sameScope } from "./tenant-sql";

/** What a create-only transaction hands over to be written: its one statement, in its tenant's scope. */
export interface CreatePlan {
  scope: TenantScope;
  /** The new resource's state (for the transitions metric, once written). */
  state: string;
  /** Orders a batch: by tenant, then resource (two batches take their row locks in the same order). */
  key: string;
  statement: NamedStatement;
}

/** Creates gathered while one batch is in flight go together in the next, up to this many. */
export const CREATE_BATCH_MAX = 32;

/**
 * The transaction behind createIfAbsent: the insert of a resource that is probably new, and of
 * its event, as one statement, which the repository writes with other creates (group
 * commit, writeCreates). The resource insert skips an existing row (ON CONFLICT DO
 * NOTHING) and the event is inserted from what it returned, so on a conflict nothing at
 * all is written and the create answers false.
 * Saves an apply of a new resource the round trip that reads and locks its (absent) row.
 * Anything else a caller tries here is a programming error and throws.
 */
export class CreateOnlyTx implements StoreTx {
  private resource: ResourceRecord | undefined;
  private event: OutboxEventRecord | undefined;
  private answer: { requestKey: string; fingerprint: string; answer: unknown } | undefined;
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

  async recordAnswer(requestKey: string, fingerprint: string, answer: unknown): Promise<void> {
    if (this.answer) throw new Error("a create-only transaction records one answer");
    this.answer = { requestKey, fingerprint, answer };
  }

  /** What to write; the batch that writes it answers whether the resource (and its event) were written. */
  plan(): CreatePlan {
    const r = this.resource;
    if (!r) throw new Error("a create-only transaction must insert its resource");
    if (this.event && this.event.resourceId !== r.resourceId) throw new Error("a create-only transaction inserts its resource's event only");
    const values = [...resourceValues(r), ...(this.event ? eventValues(this.event) : [])];
    // History goes in the same statement, gated on the insert: nothing when the row existed.
    values.push(historyRows(this.scope, this.history));
    const history = `, history AS (${historyInsertSql(values.length, "EXISTS (SELECT 1 FROM created)")})`;
    // The request's answer goes in only with the resource. A key already recorded (the same
    // request again after its resource was deleted) keeps its first answer.
    const a = this.answer;
    const answered = a
      ? `, answered AS (INSERT INTO request_answers (org_id, project_id, space_id, request_key, fingerprint, answer)
          SELECT ${[0, 1, 2, 3, 4].map((i) => `$${values.length + 1 + i}`).join(", ")}, $${values.length + 6}::jsonb FROM created ON CONFLICT DO NOTHING)`
      : "";
    if (a) values.push(r.scope.org_id, r.scope.project_id, r.scope.space_id, a.requestKey, a.fingerprint, json(a.answer));
    const suffix = a ? "-answered" : "";
    const created = `WITH created AS (INSERT INTO resources ${RESOURCE_VALUES} ON CONFLICT DO NOTHING RETURNING row_id)${history}${answered}`;
    const statement = this.event
      ? {
          name: `store.create-resource-with-event${suffix}`,
          text: `${created}
            INSERT INTO outbox_events (${EVENT_COLUMNS})
            SELECT ${eventParams(28)} FROM created
            RETURNING event_id`,
          values,
        }
      : { name: `store.create-resource${suffix}`, text: `${created} SELECT row_id FROM created`, values };
    return { scope: this.scope, state: r.lifecycleState, key: `${this.scope.org_id}/${this.scope.project_id}/${this.scope.space_id}/${r.resourceId}`, statement };
  }

  private refuse(): never {
    throw new Error("a create-only transaction neither reads nor changes existing rows");
  }
  lockResource = () => this.refuse();
  lockResourceWithPendingConfig = () => this.refuse();
  lockForResults = () => this.refuse();
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
  insertDeadLetter = () => this.refuse();
  lockDeadLetters = () => this.refuse();
  deleteDeadLetters = () => this.refuse();
  getEvent = () => this.refuse();
  advanceObservation = () => this.refuse();
  restartObservation = () => this.refuse();
  updateEvent = () => this.refuse();
  /** A create is never a repeat: a repeated one finds its resource there and takes the full path. */
  recallAnswer = () => this.refuse();
}

/** One transaction, one round trip: BEGIN, per tenant its scope and its creates, COMMIT. Per plan: written or not. */
export function writeCreates(pool: Pool, plans: CreatePlan[]): Promise<boolean[]> {
  return withConnection(pool, async (client) => {
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
