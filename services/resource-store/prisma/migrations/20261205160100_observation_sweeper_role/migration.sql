-- The observation sweeper reads as a role of its own, not as the relay: migration
-- 20261205160000 had let pragma_store_relay read ready resources for it, which widened the
-- relay's view (until then it saw nothing of `resources`). That grant and its policies are
-- taken back here.
DROP POLICY "resources_sweeper" ON "resources";
DROP POLICY "resource_observations_sweeper" ON "resource_observations";
REVOKE SELECT ON "resources", "resource_observations" FROM pragma_store_relay;

-- The sweeper finds overdue cycles across tenants as a role of its own,
-- pragma_store_sweeper (the relay's role still sees nothing of `resources`): it may read
-- which resources are ready, and the cycles, and write nothing; each restart then runs in
-- the resource's own tenant scope. Created like the other two (cluster-wide, tolerant).
DO $$
BEGIN
  BEGIN
    CREATE ROLE pragma_store_sweeper NOLOGIN NOSUPERUSER NOBYPASSRLS;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
  END;
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    BEGIN
      EXECUTE format('GRANT pragma_store_sweeper TO %I', current_user);
    EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL;
    END;
  END IF;
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO pragma_store_sweeper', current_schema());
END
$$;
GRANT SELECT ON "resources", "resource_observations" TO pragma_store_sweeper;
CREATE POLICY "resources_sweeper" ON "resources" FOR SELECT TO pragma_store_sweeper
  USING ("lifecycle_state" = 'ready' AND "provisioned");
CREATE POLICY "resource_observations_sweeper" ON "resource_observations" FOR SELECT TO pragma_store_sweeper
  USING (true);
