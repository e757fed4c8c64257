import { cpSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client } from "pg";
import { migrate, type MigrationLogger } from "@pragma/db";
import { createTestDatabase } from "@pragma/testing";

/**
 * A database the previous release migrated (its migrations only, with rows it wrote)
 * takes 20261130000000_edges_and_indexes: edges backfilled from the id arrays, triggers
 * keeping them, index changes, and a second start applies nothing.
 */
const MIGRATIONS = join(__dirname, "..", "prisma", "migrations");
const NEW = "20261130000000_edges_and_indexes";
const logger: MigrationLogger = { info: () => undefined, warn: () => undefined, error: () => undefined } as unknown as MigrationLogger;

let db: Awaited<ReturnType<typeof createTestDatabase>>;
let oldDir: string;
let c: Client;
beforeAll(async () => {
  db = await createTestDatabase("store-upgrade");
  oldDir = mkdtempSync(join(tmpdir(), "store-old-migrations-"));
  for (const entry of readdirSync(MIGRATIONS)) if (entry !== NEW) cpSync(join(MIGRATIONS, entry), join(oldDir, entry), { recursive: true });
  c = new Client({ connectionString: db.databaseUrl });
  await c.connect();
});
afterAll(async () => {
  await c?.end();
  rmSync(oldDir, { recursive: true, force: true });
  await db?.dispose();
});

it("upgrades a database migrated by the previous release, rows and all", async () => {
  const old = await migrate({ databaseUrl: db.databaseUrl, schema: "resource_store", migrationsDir: oldDir, logger });
  expect(old.applied).not.toContain(NEW);
  const insert = (name: string, deps: string[], owners: string[]) =>
    c.query(
      `INSERT INTO resource_store.resources (row_id, org_id, project_id, space_id, resource_id, provider, resource_type, name, config, dependencies,
         owner_references, outputs, lifecycle_state, provisioned, tags, has_tags, dependency_ids, owner_ids, created_at, updated_at)
       VALUES ($1, 'o', 'p', 's', $2, 'pragma', 'config', $3, '{}', '[]', '[]', '{}', 'ready', true, '{}', false, $4, $5, now(), now())`,
      [`res_${name}`, `resource:pragma_config_${name}`, name, deps, owners],
    );
  await insert("a", [], []);
  await insert("b", ["resource:pragma_config_a"], []);
  await insert("c", [], ["resource:pragma_config_a"]);

  const up = await migrate({ databaseUrl: db.databaseUrl, schema: "resource_store", migrationsDir: MIGRATIONS, logger });
  expect(up.applied).toEqual([NEW]);
  const edges = async () => (await c.query("SELECT kind, target_id, resource_id FROM resource_store.resource_edges ORDER BY kind, resource_id")).rows;
  expect(await edges()).toEqual([
    { kind: "dependency", target_id: "resource:pragma_config_a", resource_id: "resource:pragma_config_b" },
    { kind: "owner", target_id: "resource:pragma_config_a", resource_id: "resource:pragma_config_c" },
  ]);
  const indexes = (await c.query("SELECT indexname FROM pg_indexes WHERE schemaname = 'resource_store' AND tablename = 'resources' ORDER BY 1")).rows.map((r) => r.indexname);
  // resources_org_provider_idx comes from 20261205060000_pushed_providers, which the "previous release" here (every migration but NEW) already has.
  expect(indexes).toEqual(["resources_list_idx", "resources_org_provider_idx", "resources_pkey", "resources_tenant_resource_id_key"]);

  expect((await migrate({ databaseUrl: db.databaseUrl, schema: "resource_store", migrationsDir: MIGRATIONS, logger })).applied).toEqual([]);

  // The triggers keep the edges from now on.
  await c.query("UPDATE resource_store.resources SET dependency_ids = '{}' WHERE row_id = 'res_b'");
  await c.query("DELETE FROM resource_store.resources WHERE row_id = 'res_c'");
  await c.query("UPDATE resource_store.resources SET dependency_ids = ARRAY['resource:pragma_config_b'] WHERE row_id = 'res_a'");
  expect(await edges()).toEqual([{ kind: "dependency", target_id: "resource:pragma_config_b", resource_id: "resource:pragma_config_a" }]);
});
