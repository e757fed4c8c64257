import { inTransaction, type Pool } from "./pg";

/**
 * The recorded first answers of write requests (migration 20261205120000_request_answers),
 * which store transactions read and write through StoreTx; here only their pruning, as the
 * owner across every tenant.
 */
export class PgRequestAnswers {
  constructor(private readonly pool: Pool) {}

  /** Deletes answers recorded before `before`, at most `limit`; how many went. */
  async prune(before: Date, limit: number): Promise<number> {
    return inTransaction(this.pool, async (client) => {
      const res = await client.query({
        name: "answers.prune",
        text: `DELETE FROM request_answers WHERE ctid IN (SELECT ctid FROM request_answers WHERE created_at < $1 LIMIT $2)`,
        values: [before, limit],
      });
      return res.rowCount ?? 0;
    });
  }
}
