import { Client } from "pg";
import { migrate, type MigrationLogger } from "@pragma/db";
import { createTestDatabase } from "@pragma/testing";
import { PgChangeLog } from "../src/data/change-log.repository";
import { createPool } from "../src/data/pg";
import { PgProviderRepository } from "../src/data/provider.repository";

/**
 * The store as the k8s deployment runs it (infra/k8s/base/postgres.yaml): connected as the
 * owner of its tables, a role with CREATEROLE that is not a superuser, which ran the
 * migrations itself. Every other test connects as the superuser, which row-level security
 * never applies to. The cross-tenant paths that run as the owner must see every tenant's
 * rows here too: a provider's resources (its cascade delete), the finalizer, the change-log
 * pruning.
 */
const logger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as MigrationLogger;
const owner = `t_store_owner_${Date.now().toString(36)}${Math.floor(Math.random() * 1e4)}`;

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let su: Client;
let ownerUrl: string;

beforeAll(async () => {
  db = await createTestDatabase("store-owner");
  su = new Client({ connectionString: db.databaseUrl });
  await su.connect();
  await su.query(`CREATE ROLE ${owner} LOGIN NOSUPERUSER CREATEROLE`);
  const dbName = new URL(db.databaseUrl).pathname.slice(1);
  await su.query(`ALTER DATABASE "${dbName}" OWNER TO ${owner}`);
  const u = new URL(db.databaseUrl);
  u.username = owner;
  ownerUrl = u.toString();
  await migrate({ databaseUrl: ownerUrl, schema: "resource_store", migrationsDir: `${__dirname}/../prisma/migrations`, logger });
  // Two tenants' resources of one pushed provider, and their changes (as a superuser: set-up only).
  // One ready, one failed: the owner is a member of the sweeper's role, whose policy shows ready rows, so
  // only a resource in another state shows what the owner itself can see.
  for (const [org, project, name, state] of [["o1", "p1", "a", "ready"], ["o1", "p2", "b", "failed"]]) {
    await su.query(
      `INSERT INTO resource_store.resources (row_id, org_id, project_id, space_id, resource_id, provider, resource_type, name, config, dependencies,
         owner_references, outputs, lifecycle_state, provisioned, tags, has_tags, created_at, updated_at)
       VALUES ($1, $2, $3, 's', $4, 'acme', 'thing', $5, '{}', '[]', '[]', '{}', $6, $6 = 'ready', '{}', false, now(), now())`,
      [`res_${name}`, org, project, `resource:acme_thing_${name}`, name, state],
    );
  }
  await su.query(`INSERT INTO resource_store.providers (org_id, provider_id, deleting, created_at, updated_at) VALUES ('o1', 'acme', true, now(), now())`);
  await su.query(`UPDATE resource_store.resource_changes SET changed_at = now() - interval '1 day'`);
});
afterAll(async () => {
  await su?.end();
  await db?.dispose();
  // The role owned only the dropped database; roles are cluster-wide, so it goes too.
  const admin = new Client({ connectionString: db.databaseUrl.replace(/\/[^/]*$/, "/postgres") });
  await admin.connect();
  await admin.query(`DROP ROLE IF EXISTS ${owner}`).catch(() => undefined);
  await admin.end();
});

it("a non-superuser owner sees every tenant's rows on the cross-tenant paths", async () => {
  const pool = createPool(ownerUrl, "resource_store", 2);
  try {
    const providers = new PgProviderRepository(pool);
    // The cascade delete finds both projects' resources of the provider...
    expect((await providers.providerResources("o1", "acme")).map((r) => r.resourceId).sort()).toEqual(["resource:acme_thing_a", "resource:acme_thing_b"]);
    // ...and the finalizer keeps a deleting provider while it still has resources.
    expect(await providers.finalizeDeleted()).toBe(0);
    expect((await su.query("SELECT 1 FROM resource_store.providers WHERE provider_id = 'acme'")).rowCount).toBe(1);
    // The change log past its retention is pruned, every tenant's.
    expect(await new PgChangeLog(pool).prune(new Date(Date.now() - 3_600_000), 100)).toBe(2);
  } finally {
    await pool.end();
  }
});
