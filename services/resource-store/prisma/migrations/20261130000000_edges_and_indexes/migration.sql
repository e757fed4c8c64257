-- "Who depends on X / who is owned by X" as a btree-indexed edge table. The GIN indexes
-- on the id arrays were not used: under load the planner scanned every row of the
-- tenant instead, and with FOR UPDATE that scan waited on every concurrent transaction
-- touching any row of the tenant, which serialised result processing per tenant.
CREATE TABLE "resource_edges" (
    "org_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "space_id" TEXT NOT NULL,
    -- 'dependency' (resource_id depends on target_id) or 'owner' (target_id owns resource_id)
    "kind" TEXT NOT NULL,
    "target_id" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    CONSTRAINT "resource_edges_pkey" PRIMARY KEY ("org_id", "project_id", "space_id", "kind", "target_id", "resource_id")
);
-- Leading with resource_id so that it never competes with the primary key for
-- "edges to X" (both would match the tenant prefix, and for a tenant the statistics
-- do not know yet the planner may take the wrong one).
CREATE INDEX "resource_edges_source_idx" ON "resource_edges" ("resource_id", "org_id", "project_id", "space_id");

-- Kept in step with resources.dependency_ids / owner_ids by triggers, so no code path can
-- forget it; the WHEN clauses keep the common case (no edges, edges unchanged) free.
CREATE FUNCTION "resource_edges_sync"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP <> 'INSERT' THEN
    DELETE FROM resource_edges
    WHERE org_id = OLD.org_id AND project_id = OLD.project_id AND space_id = OLD.space_id AND resource_id = OLD.resource_id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    INSERT INTO resource_edges (org_id, project_id, space_id, kind, target_id, resource_id)
    SELECT NEW.org_id, NEW.project_id, NEW.space_id, 'dependency', t, NEW.resource_id FROM unnest(NEW.dependency_ids) AS t
    UNION
    SELECT NEW.org_id, NEW.project_id, NEW.space_id, 'owner', t, NEW.resource_id FROM unnest(NEW.owner_ids) AS t;
  END IF;
  RETURN NULL;
END
$$;
-- Resolve table names in this schema whatever the caller's search_path.
ALTER FUNCTION "resource_edges_sync"() SET search_path FROM CURRENT;

CREATE TRIGGER "resources_edges_insert" AFTER INSERT ON "resources" FOR EACH ROW
  WHEN (cardinality(NEW.dependency_ids) > 0 OR cardinality(NEW.owner_ids) > 0)
  EXECUTE FUNCTION "resource_edges_sync"();
CREATE TRIGGER "resources_edges_update" AFTER UPDATE OF "dependency_ids", "owner_ids" ON "resources" FOR EACH ROW
  WHEN (OLD.dependency_ids IS DISTINCT FROM NEW.dependency_ids OR OLD.owner_ids IS DISTINCT FROM NEW.owner_ids)
  EXECUTE FUNCTION "resource_edges_sync"();
CREATE TRIGGER "resources_edges_delete" AFTER DELETE ON "resources" FOR EACH ROW
  WHEN (cardinality(OLD.dependency_ids) > 0 OR cardinality(OLD.owner_ids) > 0)
  EXECUTE FUNCTION "resource_edges_sync"();

INSERT INTO "resource_edges" ("org_id", "project_id", "space_id", "kind", "target_id", "resource_id")
SELECT org_id, project_id, space_id, 'dependency', t, resource_id FROM resources, unnest(dependency_ids) AS t
UNION
SELECT org_id, project_id, space_id, 'owner', t, resource_id FROM resources, unnest(owner_ids) AS t;

DROP INDEX "resources_dependency_ids_idx";
DROP INDEX "resources_owner_ids_idx";
-- Only the unique key may start with the tenant columns. The planner's statistics know
-- nothing of a tenant that is new or growing fast and estimate one row for it; any
-- other index with that prefix then ties with the unique key, and a generic plan for
-- "resource_id = $4" took the listing index, reading the whole tenant to find one row
-- (3 ms at 5,000 rows, under FOR UPDATE). The listing index is on an expression of the
-- tenant columns instead, which only the list query uses.
DROP INDEX "resources_tenant_name_idx";
DROP INDEX "resources_tenant_name_id_idx";
CREATE INDEX "resources_list_idx" ON "resources" (("org_id" || '/' || "project_id" || '/' || "space_id"), "name", "resource_id");

-- The same tenant backstop as resources (migration 20261126000000).
GRANT SELECT, INSERT, DELETE ON "resource_edges" TO pragma_store_tenant;
ALTER TABLE "resource_edges" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "resource_edges" FORCE ROW LEVEL SECURITY;
CREATE POLICY "resource_edges_tenant" ON "resource_edges" TO pragma_store_tenant
  USING ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true))
  WITH CHECK ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true));

-- Room on each page for updated row versions: a resource is updated several times in
-- its life (processing, ready, …) and an outbox event once (published); with free space
-- on the page, updates that leave indexed columns alone are HOT and skip index writes.
ALTER TABLE "resources" SET (fillfactor = 70);
ALTER TABLE "outbox_events" SET (fillfactor = 80);
-- The relay only ever looks for pending events; published ones (almost all) need no entry.
DROP INDEX "outbox_events_status_idx";
CREATE INDEX "outbox_events_pending_idx" ON "outbox_events" ("event_id") WHERE "status" = 'pending';
