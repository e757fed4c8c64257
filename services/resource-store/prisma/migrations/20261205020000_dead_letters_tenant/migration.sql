-- A dead-letter retry takes its entry and re-queues the resource in one store
-- transaction, which runs as the tenant role (the lifecycle's single writer of resource
-- state): the tenant role may read and remove its own scope's entries. Row-level
-- security is enabled but not forced: the ingest and the operator's reads and deletes
-- still run as the owner, scoped by their own WHERE clauses.
-- UPDATE only for the row locks (SELECT … FOR UPDATE needs it); nothing updates entries.
GRANT SELECT, UPDATE, DELETE ON "dead_letters" TO pragma_store_tenant;
ALTER TABLE "dead_letters" ENABLE ROW LEVEL SECURITY;
CREATE POLICY "dead_letters_tenant" ON "dead_letters" TO pragma_store_tenant
  USING ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true));
