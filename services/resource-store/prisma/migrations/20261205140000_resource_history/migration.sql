-- Each resource's history (GET /resources/{id}/events, api.md §9): one row per lifecycle
-- step, written by the store's lifecycle in the transaction that takes the step. Rows
-- carry no config or output values, only a summary already redacted when written.
-- Kept bounded: the newest 100 rows per resource (the trigger below prunes in the
-- statement that inserts). Rows outlive the resource, so its deletion stays visible.
CREATE TABLE "resource_history" (
    "seq" BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    "org_id" TEXT NOT NULL,
    "project_id" TEXT NOT NULL,
    "space_id" TEXT NOT NULL,
    "resource_id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "event_id" TEXT,
    "request_id" TEXT,
    "summary" TEXT NOT NULL,
    "at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX "resource_history_resource_idx" ON "resource_history" ("org_id", "project_id", "space_id", "resource_id", "seq" DESC);

CREATE FUNCTION "resource_history_bound"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  DELETE FROM resource_history h
  USING (SELECT DISTINCT org_id, project_id, space_id, resource_id FROM new_rows) n
  WHERE h.org_id = n.org_id AND h.project_id = n.project_id AND h.space_id = n.space_id AND h.resource_id = n.resource_id
    AND h.seq <= (SELECT k.seq FROM resource_history k
                  WHERE k.org_id = n.org_id AND k.project_id = n.project_id AND k.space_id = n.space_id AND k.resource_id = n.resource_id
                  ORDER BY k.seq DESC OFFSET 100 LIMIT 1);
  RETURN NULL;
END
$$;
ALTER FUNCTION "resource_history_bound"() SET search_path FROM CURRENT;
CREATE TRIGGER "resource_history_bound" AFTER INSERT ON "resource_history"
  REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION "resource_history_bound"();

-- The same tenant backstop as resources (migration 20261126000000).
GRANT SELECT, INSERT, DELETE ON "resource_history" TO pragma_store_tenant;
GRANT SELECT, INSERT ON "resource_history" TO pragma_store_relay;
ALTER TABLE "resource_history" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "resource_history" FORCE ROW LEVEL SECURITY;
CREATE POLICY "resource_history_tenant" ON "resource_history" TO pragma_store_tenant
  USING ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true))
  WITH CHECK ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true));
