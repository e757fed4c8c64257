import type { TenantScope } from "@pragma/contracts";
import type { QueryResultRow } from "pg";
import { execute, roundTrip, withConnection, type NamedStatement, type Pool } from "./pg";
import { ScopedTx } from "./scoped-tx";
import { actAsTenantPrepared, sameScope } from "./tenant-sql";

/** What a read-only transaction (readInScope) hands over: its statements, in its tenant's scope. */
export interface ReadPlan {
  scope: TenantScope;
  statements: NamedStatement[];
}
export type Rows = QueryResultRow[][];

/**
 * Reads gathered while READ_BATCHES_IN_FLIGHT batches are in flight go together in the
 * next, up to READ_BATCH_MAX; several may run at once, so one slow read (a long list)
 * holds back only its own batch, and reads leave most of the pool to the writers.
 */
export const READ_BATCH_MAX = 32;
export const READ_BATCHES_IN_FLIGHT = 3;

/**
 * The transaction behind readInScope: one read (one or several statements), no writes,
 * handed to the repository's read batcher, which runs it with other reads in one
 * round trip.
 */
export class GroupedReadTx extends ScopedTx {
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

/** One read-only transaction, one round trip: BEGIN, per read its tenant's scope (unless the last one's) and its statements, COMMIT. */
export function runReads(pool: Pool, plans: ReadPlan[]): Promise<Rows[]> {
  for (const plan of plans) if (!plan.scope.org_id || !plan.scope.project_id || !plan.scope.space_id) throw new Error("tenant scope is required");
  return withConnection(pool, async (client) => {
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
