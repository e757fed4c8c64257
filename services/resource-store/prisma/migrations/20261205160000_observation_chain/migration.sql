-- The state of each resource's observation cycle (drift, api.md §9), beside the resource
-- rather than in it: it changes on every observation, and a write to `resources` is a
-- change every watcher sees (resource_changes) and a wide row rewritten. Narrow rows, and
-- no index on due_at, so an observation's update is a HOT update of one small tuple.
--   generation: the resource's observation_id the row belongs to (a later apply or refresh
--               starts a new generation; the row is then taken over by its first result);
--   tick:       the id of the one observe message of this cycle the store will take a result of;
--   due_at:     when the cycle is overdue if no result came (three intervals and a minute
--               after the last one; 'infinity' for a type without an observe hook): the
--               sweeper (observe-sweeper.ts) restarts a ready resource's cycle past it;
--   restarts:   restarts since the last result (each one doubles the wait, up to 16 x).
CREATE TABLE "resource_observations" (
    "org_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "space_id" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "generation" TEXT NOT NULL,
    "tick" TEXT NOT NULL,
    "due_at" TIMESTAMPTZ NOT NULL,
    "restarts" INTEGER NOT NULL DEFAULT 0,
    CONSTRAINT "resource_observations_pkey" PRIMARY KEY ("org_id", "project_id", "space_id", "resource_id"),
    CONSTRAINT "resource_observations_resource_fkey" FOREIGN KEY ("org_id", "project_id", "space_id", "resource_id")
      REFERENCES "resources" ("org_id", "project_id", "space_id", "resource_id") ON DELETE CASCADE
) WITH (fillfactor = 70);

-- The tenant backstop, as on every table the store's transactions touch.
GRANT SELECT, INSERT, UPDATE ON "resource_observations" TO pragma_store_tenant;
ALTER TABLE "resource_observations" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "resource_observations" FORCE ROW LEVEL SECURITY;
CREATE POLICY "resource_observations_tenant" ON "resource_observations" TO pragma_store_tenant
  USING ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true))
  WITH CHECK ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true));

-- The sweeper finds overdue cycles across tenants as pragma_store_relay (the one
-- cross-tenant role): it may see which resources are ready and their cycles, and nothing
-- else of `resources` (each restart then runs in the resource's own tenant scope).
GRANT SELECT ON "resources", "resource_observations" TO pragma_store_relay;
CREATE POLICY "resources_sweeper" ON "resources" FOR SELECT TO pragma_store_relay
  USING ("lifecycle_state" = 'ready' AND "provisioned");
CREATE POLICY "resource_observations_sweeper" ON "resource_observations" FOR SELECT TO pragma_store_relay
  USING (true);
