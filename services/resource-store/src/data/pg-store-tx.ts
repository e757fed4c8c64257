import type { TenantScope } from "@pragma/contracts";
import type { QueryResultRow } from "pg";
import { execute, roundTrip, type NamedStatement, type PoolClient } from "./pg";
import { ScopedTx } from "./scoped-tx";
import { beginInScope } from "./tenant-sql";

/**
 * Round trips are what a transaction costs here, so statements travel together: BEGIN
 * and the scope go with the first read, writes are held and go with the next read or
 * with COMMIT, as one simple-protocol batch of EXECUTEs of statements prepared once per
 * connection (values as literals, see pg.ts `execute`). Order is preserved, so a read
 * always sees the writes before it. An apply on this path is two round trips: BEGIN +
 * scope + lock, then the writes + COMMIT (a first apply without dependencies takes
 * CreateOnlyTx instead, one round trip).
 */
export class PgStoreTx extends ScopedTx {
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
