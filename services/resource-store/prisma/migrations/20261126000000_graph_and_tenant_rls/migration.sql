-- Dependency and ownership edges as id arrays, so "who depends on / is owned by X"
-- is one indexed lookup inside the transaction that changes X.
ALTER TABLE "resources" ADD COLUMN "dependency_ids" TEXT[] NOT NULL DEFAULT '{}';
ALTER TABLE "resources" ADD COLUMN "owner_ids" TEXT[] NOT NULL DEFAULT '{}';
-- Set when an input changed while the resource was already busy with older values:
-- its next success re-queues it once more with fresh ones.
ALTER TABLE "resources" ADD COLUMN "stale_inputs" BOOLEAN NOT NULL DEFAULT false;
CREATE INDEX "resources_dependency_ids_idx" ON "resources" USING GIN ("dependency_ids");
CREATE INDEX "resources_owner_ids_idx" ON "resources" USING GIN ("owner_ids");
CREATE INDEX "resources_tenant_name_id_idx" ON "resources" ("org_id", "project_id", "space_id", "name", "resource_id");

-- Events waiting for their dependencies (or, for a DELETE, for owned resources to go)
-- are 'held': stored, never relayed, until released.
CREATE INDEX "outbox_events_held_idx" ON "outbox_events" ("org_id", "project_id", "space_id", "resource_id") WHERE "status" = 'held';

-- Tenant backstop: row-level security. Runtime code never touches these tables as the
-- connecting role; each transaction does SET LOCAL ROLE to one of two NOLOGIN roles.
-- Roles are cluster-wide, so creation tolerates another database having made them.
DO $$
BEGIN
  BEGIN
    CREATE ROLE pragma_store_tenant NOLOGIN NOSUPERUSER NOBYPASSRLS;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
  END;
  BEGIN
    CREATE ROLE pragma_store_relay NOLOGIN NOSUPERUSER NOBYPASSRLS;
  EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL;
  END;
  -- A superuser may SET ROLE to anything; any other owner needs membership.
  IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    BEGIN
      EXECUTE format('GRANT pragma_store_tenant, pragma_store_relay TO %I', current_user);
    EXCEPTION WHEN unique_violation OR duplicate_object THEN NULL;
    END;
  END IF;
END
$$;

DO $$
BEGIN
  EXECUTE format('GRANT USAGE ON SCHEMA %I TO pragma_store_tenant, pragma_store_relay', current_schema());
END
$$;
GRANT SELECT, INSERT, UPDATE, DELETE ON "resources", "outbox_events" TO pragma_store_tenant;
GRANT SELECT, UPDATE ON "outbox_events" TO pragma_store_relay;

ALTER TABLE "resources" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "resources" FORCE ROW LEVEL SECURITY;
ALTER TABLE "outbox_events" ENABLE ROW LEVEL SECURITY;
ALTER TABLE "outbox_events" FORCE ROW LEVEL SECURITY;

-- current_setting(..., true) is NULL when unset, and NULL = x is never true: a
-- transaction that forgot its scope sees and writes nothing.
CREATE POLICY "resources_tenant" ON "resources" TO pragma_store_tenant
  USING ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true))
  WITH CHECK ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true));

CREATE POLICY "outbox_events_tenant" ON "outbox_events" TO pragma_store_tenant
  USING ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true))
  WITH CHECK ("org_id" = current_setting('pragma.org_id', true)
     AND "project_id" = current_setting('pragma.project_id', true)
     AND "space_id" = current_setting('pragma.space_id', true));

-- The relay publishes every tenant's released events and may only see those.
CREATE POLICY "outbox_events_relay" ON "outbox_events" TO pragma_store_relay
  USING ("status" IN ('pending', 'published'));
