import type { TenantScope } from "@pragma/contracts";
import type { OverdueObservations } from "../domain/resources/ports";
import { inTransaction, type Pool } from "./pg";
import { SWEEPER_ROLE } from "./tenant-sql";

/**
 * The sweeper's read across tenants (migrations 20261205160000_observation_chain and
 * 20261205160100_observation_sweeper_role), as a role of its own whose policies show ready
 * resources and the cycles, and which writes nothing. Only keys come back: each restart
 * runs in its resource's own tenant scope (drift.ts).
 */
export class PgOverdueObservations implements OverdueObservations {
  constructor(private readonly pool: Pool) {}

  async overdue(now: Date, unobservedBefore: Date, limit: number): Promise<{ scope: TenantScope; resourceId: string }[]> {
    return inTransaction(this.pool, async (client) => {
      await client.query(`SET TRANSACTION READ ONLY; SET LOCAL ROLE ${SWEEPER_ROLE}`);
      const res = await client.query<{ org_id: string; project_id: string; space_id: string; resource_id: string }>({
        name: "sweep.overdue-observations",
        text: `SELECT r.org_id, r.project_id, r.space_id, r.resource_id
          FROM resources r
          LEFT JOIN resource_observations o
            ON o.org_id = r.org_id AND o.project_id = r.project_id AND o.space_id = r.space_id AND o.resource_id = r.resource_id
          WHERE r.lifecycle_state = 'ready' AND r.provisioned AND r.applied_config IS NOT NULL
            AND CASE WHEN o.resource_id IS NOT NULL AND o.generation = r.observation_id THEN o.due_at < $1 ELSE r.updated_at < $2 END
          LIMIT $3`,
        values: [now, unobservedBefore, limit],
      });
      return res.rows.map((r) => ({ scope: { org_id: r.org_id, project_id: r.project_id, space_id: r.space_id }, resourceId: r.resource_id }));
    });
  }
}
