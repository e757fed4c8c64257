import type { TenantScope } from "@pragma/contracts";
import type { ResourceRepository, StoreTx } from "../domain/resources/ports";
import { MicroBatcher } from "../micro-batcher";
import { CREATE_BATCH_MAX, CreateOnlyTx, writeCreates, type CreatePlan } from "./create-only-tx";
import { GroupedReadTx, READ_BATCH_MAX, READ_BATCHES_IN_FLIGHT, runReads, type ReadPlan, type Rows } from "./grouped-read-tx";
import { isDeadlock, isUniqueViolation, withConnection, type Pool } from "./pg";
import { PgStoreTx } from "./pg-store-tx";
import { togetherOrAlone } from "./together-or-alone";
import type { TransitionObserver } from "./transition-tracker";

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
  private readonly creates = new MicroBatcher<CreatePlan, boolean>((plans) => togetherOrAlone(plans, (p) => writeCreates(this.pool, p)), CREATE_BATCH_MAX);
  /**
   * Reads (readInScope: one read, no writes) share round trips the same way: one
   * read-only transaction carries each tenant's scope and its statements, in order. Each
   * statement sees its own snapshot, as it would in a transaction of its own under READ
   * COMMITTED, and row-level security still checks every row against the scope set just
   * before it.
   */
  private readonly reads = new MicroBatcher<ReadPlan, Rows>((plans) => togetherOrAlone(plans, (p) => runReads(this.pool, p)), READ_BATCH_MAX, 0, READ_BATCHES_IN_FLIGHT);

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

  async createIfAbsent<T>(scope: TenantScope, fn: (tx: StoreTx) => Promise<T>): Promise<T | undefined> {
    const tx = new CreateOnlyTx(scope);
    const result = await fn(tx);
    const plan = tx.plan();
    if (!(await this.creates.add(plan))) return undefined;
    this.onTransition?.("none", plan.state);
    return result;
  }
}
