import type { TypeDefinition } from "@pragma/contracts";
import type { BuildRecord, DeploymentRecord, ProviderRecord, ProviderRepository, ProviderResourceRef } from "../domain/providers/ports";
import { inTransaction, isUniqueViolation, type Pool } from "./pg";

type Row = Record<string, any>;

const build = (r: Row): BuildRecord => ({
  orgId: r.org_id,
  providerId: r.provider_id,
  version: r.version,
  status: r.status,
  deployOnSuccess: r.deploy_on_success,
  errorMessage: r.error_message,
  createdAt: r.created_at,
});
const deployment = (r: Row): DeploymentRecord => ({ orgId: r.org_id, providerId: r.provider_id, version: r.version, status: r.status, updatedAt: r.updated_at });
const provider = (r: Row): ProviderRecord => ({ orgId: r.org_id, providerId: r.provider_id, deleting: r.deleting, updatedAt: r.updated_at });

const BUILD_COLS = "org_id, provider_id, version, status, deploy_on_success, error_message, created_at";

/**
 * Pushed providers' rows (plain SQL on the store's pool, like the resource repository).
 * These tables hold no tenant rows under row-level security: every statement names its org.
 * Cross-scope reads of resources (cascade delete) run as the pool's owner role.
 */
export class PgProviderRepository implements ProviderRepository {
  constructor(private readonly pool: Pool) {}

  async beginUpload(orgId: string, providerId: string, version: (attempt: number) => string, at: Date): Promise<string> {
    return inTransaction(this.pool, async (c) => {
      await c.query(
        `INSERT INTO providers (org_id, provider_id, created_at, updated_at) VALUES ($1, $2, $3, $3)
         ON CONFLICT (org_id, provider_id) DO UPDATE SET updated_at = EXCLUDED.updated_at`,
        [orgId, providerId, at],
      );
      // Two pushes in one second: the later takes the next free second.
      for (let attempt = 0; attempt < 60; attempt++) {
        const v = version(attempt);
        const r = await c.query(
          `INSERT INTO provider_builds (org_id, provider_id, version, status, created_at, updated_at) VALUES ($1, $2, $3, 'uploading', $4, $4)
           ON CONFLICT DO NOTHING`,
          [orgId, providerId, v, at],
        );
        if (r.rowCount === 1) return v;
      }
      throw new Error("no free build version within a minute");
    });
  }

  async getProvider(orgId: string, providerId: string): Promise<ProviderRecord | null> {
    const r = await this.pool.query(`SELECT * FROM providers WHERE org_id = $1 AND provider_id = $2`, [orgId, providerId]);
    return r.rows[0] ? provider(r.rows[0]) : null;
  }

  async addChunk(orgId: string, providerId: string, version: string, seq: number, data: Buffer): Promise<boolean> {
    try {
      const r = await this.pool.query(
        `INSERT INTO provider_build_chunks (org_id, provider_id, version, seq, data)
         SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM provider_builds WHERE org_id = $1 AND provider_id = $2 AND version = $3 AND status = 'uploading')`,
        [orgId, providerId, version, seq, data],
      );
      return r.rowCount === 1;
    } catch (err) {
      // A chunk sent twice (the gateway retried after a lost reply) is already stored.
      if (isUniqueViolation(err)) return true;
      throw err;
    }
  }

  async commitUpload(orgId: string, providerId: string, version: string, deployOnSuccess: boolean, at: Date): Promise<BuildRecord | null> {
    const r = await this.pool.query(
      `UPDATE provider_builds SET status = 'pending', deploy_on_success = $4, updated_at = $5
       WHERE org_id = $1 AND provider_id = $2 AND version = $3 AND status IN ('uploading', 'pending') RETURNING ${BUILD_COLS}`,
      [orgId, providerId, version, deployOnSuccess, at],
    );
    return r.rows[0] ? build(r.rows[0]) : null;
  }

  async abortUpload(orgId: string, providerId: string, version: string): Promise<void> {
    await inTransaction(this.pool, async (c) => {
      await c.query(`DELETE FROM provider_builds WHERE org_id = $1 AND provider_id = $2 AND version = $3 AND status = 'uploading'`, [orgId, providerId, version]);
      await c.query(
        `DELETE FROM providers p WHERE org_id = $1 AND provider_id = $2
         AND NOT EXISTS (SELECT 1 FROM provider_builds b WHERE b.org_id = p.org_id AND b.provider_id = p.provider_id)`,
        [orgId, providerId],
      );
    });
  }

  async chunk(orgId: string, providerId: string, version: string, seq: number): Promise<{ data: Buffer; chunks: number } | null> {
    const r = await this.pool.query(
      `SELECT (SELECT data FROM provider_build_chunks WHERE org_id = $1 AND provider_id = $2 AND version = $3 AND seq = $4) AS data,
              (SELECT count(*)::int FROM provider_build_chunks WHERE org_id = $1 AND provider_id = $2 AND version = $3) AS chunks`,
      [orgId, providerId, version, seq],
    );
    const row = r.rows[0];
    return row?.data ? { data: row.data as Buffer, chunks: row.chunks as number } : null;
  }

  async listProviders(orgId: string): Promise<(ProviderRecord & { deployment: DeploymentRecord | null })[]> {
    const r = await this.pool.query(
      `SELECT p.*, d.version AS d_version, d.status AS d_status, d.updated_at AS d_updated_at FROM providers p
       LEFT JOIN provider_deployments d ON d.org_id = p.org_id AND d.provider_id = p.provider_id
       WHERE p.org_id = $1 AND EXISTS (SELECT 1 FROM provider_builds b WHERE b.org_id = p.org_id AND b.provider_id = p.provider_id AND b.status <> 'uploading')
       ORDER BY p.provider_id`,
      [orgId],
    );
    return r.rows.map((row) => ({
      ...provider(row),
      deployment: row.d_version ? deployment({ org_id: row.org_id, provider_id: row.provider_id, version: row.d_version, status: row.d_status, updated_at: row.d_updated_at }) : null,
    }));
  }

  async listBuilds(orgId: string, providerId: string, limit: number): Promise<BuildRecord[]> {
    const r = await this.pool.query(
      `SELECT ${BUILD_COLS} FROM provider_builds WHERE org_id = $1 AND provider_id = $2 AND status <> 'uploading' ORDER BY version DESC LIMIT $3`,
      [orgId, providerId, limit],
    );
    return r.rows.map(build);
  }

  async getBuild(orgId: string, providerId: string, version: string): Promise<BuildRecord | null> {
    const r = await this.pool.query(`SELECT ${BUILD_COLS} FROM provider_builds WHERE org_id = $1 AND provider_id = $2 AND version = $3 AND status <> 'uploading'`, [
      orgId,
      providerId,
      version,
    ]);
    return r.rows[0] ? build(r.rows[0]) : null;
  }

  async buildLog(orgId: string, providerId: string, version: string): Promise<string | null> {
    const r = await this.pool.query(`SELECT log FROM provider_builds WHERE org_id = $1 AND provider_id = $2 AND version = $3 AND status <> 'uploading'`, [orgId, providerId, version]);
    return r.rows[0] ? (r.rows[0].log as string) : null;
  }

  async updateBuild(
    orgId: string,
    providerId: string,
    version: string,
    change: { status: string; errorMessage?: string | null; log?: string; bundle?: string; types?: TypeDefinition[] },
    at: Date,
  ): Promise<BuildRecord | null> {
    const r = await this.pool.query(
      `UPDATE provider_builds SET status = $4, error_message = COALESCE($5, error_message), log = COALESCE($6, log), bundle = COALESCE($7, bundle),
         types = COALESCE($8::jsonb, types), updated_at = $9
       WHERE org_id = $1 AND provider_id = $2 AND version = $3 AND status <> 'uploading' RETURNING ${BUILD_COLS}`,
      [orgId, providerId, version, change.status, change.errorMessage ?? null, change.log ?? null, change.bundle ?? null, change.types ? JSON.stringify(change.types) : null, at],
    );
    return r.rows[0] ? build(r.rows[0]) : null;
  }

  async bundle(orgId: string, providerId: string, version: string): Promise<string | null> {
    const r = await this.pool.query(`SELECT bundle FROM provider_builds WHERE org_id = $1 AND provider_id = $2 AND version = $3 AND status = 'success'`, [orgId, providerId, version]);
    return (r.rows[0]?.bundle as string | undefined) ?? null;
  }

  async buildTypes(orgId: string, providerId: string, version: string): Promise<TypeDefinition[] | null> {
    const r = await this.pool.query(`SELECT types FROM provider_builds WHERE org_id = $1 AND provider_id = $2 AND version = $3 AND status = 'success'`, [orgId, providerId, version]);
    return (r.rows[0]?.types as TypeDefinition[] | undefined) ?? null;
  }

  async getDeployment(orgId: string, providerId: string): Promise<DeploymentRecord | null> {
    const r = await this.pool.query(`SELECT * FROM provider_deployments WHERE org_id = $1 AND provider_id = $2`, [orgId, providerId]);
    return r.rows[0] ? deployment(r.rows[0]) : null;
  }

  async setDeployment(orgId: string, providerId: string, version: string, at: Date): Promise<DeploymentRecord> {
    const r = await this.pool.query(
      `INSERT INTO provider_deployments (org_id, provider_id, version, status, updated_at) VALUES ($1, $2, $3, 'deployed', $4)
       ON CONFLICT (org_id, provider_id) DO UPDATE SET version = EXCLUDED.version, status = EXCLUDED.status, updated_at = EXCLUDED.updated_at RETURNING *`,
      [orgId, providerId, version, at],
    );
    return deployment(r.rows[0]);
  }

  async deployedTypes(orgId: string): Promise<TypeDefinition[]> {
    const r = await this.pool.query(
      `SELECT b.types FROM provider_deployments d
       JOIN provider_builds b ON b.org_id = d.org_id AND b.provider_id = d.provider_id AND b.version = d.version
       JOIN providers p ON p.org_id = d.org_id AND p.provider_id = d.provider_id
       WHERE d.org_id = $1 AND NOT p.deleting`,
      [orgId],
    );
    return r.rows.flatMap((row) => (row.types as TypeDefinition[] | null) ?? []);
  }

  async providerResources(orgId: string, providerId: string): Promise<ProviderResourceRef[]> {
    const r = await this.pool.query(`SELECT project_id, space_id, resource_id, lifecycle_state FROM resources WHERE org_id = $1 AND provider = $2 ORDER BY resource_id`, [
      orgId,
      providerId,
    ]);
    return r.rows.map((row) => ({ scope: { org_id: orgId, project_id: row.project_id, space_id: row.space_id }, resourceId: row.resource_id, lifecycleState: row.lifecycle_state }));
  }

  async markDeleting(orgId: string, providerId: string): Promise<void> {
    await this.pool.query(`UPDATE providers SET deleting = true, updated_at = now() WHERE org_id = $1 AND provider_id = $2`, [orgId, providerId]);
  }

  async deleteProvider(orgId: string, providerId: string): Promise<boolean> {
    return inTransaction(this.pool, async (c) => {
      const d = await c.query(`DELETE FROM provider_deployments WHERE org_id = $1 AND provider_id = $2`, [orgId, providerId]);
      await c.query(`DELETE FROM providers WHERE org_id = $1 AND provider_id = $2`, [orgId, providerId]);
      return (d.rowCount ?? 0) > 0;
    });
  }

  async finalizeDeleted(): Promise<number> {
    const r = await this.pool.query(
      `DELETE FROM providers p WHERE p.deleting AND NOT EXISTS (SELECT 1 FROM resources r WHERE r.org_id = p.org_id AND r.provider = p.provider_id)`,
    );
    return r.rowCount ?? 0;
  }
}
