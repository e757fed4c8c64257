-- The change log behind GET /resources/watch (api.md §8): one row per resource written,
-- kept for WATCH_RETENTION_SECONDS. A watcher's position is a transaction horizon (xid8): it
-- reads the rows of every transaction visible to it and moves its position to the oldest
-- transaction still running (pg_snapshot_xmin), so a transaction that committed after the
-- read, whatever order it took ids in, is read next time. Positions are the database's,
-- so they hold across gateway restarts and replicas.
CREATE TABLE "resource_changes" (
    "org_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "space_id" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "provider" TEXT NOT NULL,
    "resource_type" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "deleted" BOOLEAN NOT NULL,
    "change_xid" xid8 NOT NULL DEFAULT pg_current_xact_id(),
    "changed_at" TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX "resource_changes_tenant_xid_idx" ON "resource_changes" ("org_id", "project_id", "space_id", "change_xid");
-- Rows arrive in time order, so a BRIN index finds the expired ones for a fraction of a btree's upkeep.
CREATE INDEX "resource_changes_changed_at_idx" ON "resource_changes" USING brin ("changed_at");

-- The newest change pruned: a watcher at or below it may have lost changes and must re-list.
CREATE TABLE "resource_changes_floor" (
    "id" BOOLEAN PRIMARY KEY DEFAULT true CHECK ("id"),
    "floor" xid8 NOT NULL
);
INSERT INTO "resource_changes_floor" ("id", "floor") VALUES (true, '0');

-- Statement triggers with transition tables: the store writes resources in multi-row
-- statements (group commits), and each statement costs one INSERT … SELECT here, not
-- one per row. No code path that writes resources can forget the log.
CREATE FUNCTION "resource_changes_log"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' THEN
    INSERT INTO resource_changes (org_id, project_id, space_id, resource_id, provider, resource_type, name, deleted)
    SELECT org_id, project_id, space_id, resource_id, provider, resource_type, name, true FROM old_rows;
  ELSE
    INSERT INTO resource_changes (org_id, project_id, space_id, resource_id, provider, resource_type, name, deleted)
    SELECT org_id, project_id, space_id, resource_id, provider, resource_type, name, false FROM new_rows;
  END IF;
  RETURN NULL;
END
$$;
ALTER FUNCTION "resource_changes_log"() SET search_path FROM CURRENT;

CREATE TRIGGER "resources_changes_insert" AFTER INSERT ON "resources"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "resource_changes_log"();
CREATE TRIGGER "resources_changes_update" AFTER UPDATE ON "resources"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "resource_changes_log"();
CREATE TRIGGER "resources_changes_delete" AFTER DELETE ON "resources"
  REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION "resource_changes_log"();

-- The same tenant backstop as resources (migration 20261126000000).
GRANT SELECT, INSERT ON "resource_changes" TO pragma_store_tenant;
GRANT SELECT ON "resource_changes_floor" TO pragma_store_tenant;
ALTER TABLE "resource_changes" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "resource_changes" FORCE ROW LEVEL SECURITY;
CREATE POLICY "resource_changes_tenant" ON "resource_changes" TO pragma_store_tenant
  USING ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true))
  WITH CHECK ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true));
