-- The store's cross-tenant paths run as the connecting role, the tables' owner: the watch's
-- change-log pruning (ChangeLogPruner), a pushed provider's cascade delete (the resources of
-- the provider) and its finalizer (a provider left with no resources). With FORCE ROW LEVEL
-- SECURITY and no policy for that role, an owner that is not a superuser (the k8s
-- deployment's `pragma`, infra/k8s/base/postgres.yaml) saw none of the rows: pruning deleted
-- nothing, a provider's delete found no resources to cascade to, and the finalizer removed
-- providers whose resources remained. A superuser bypasses row-level security whatever is
-- forced, which is how every test and the compose file run, so nothing showed there.
-- Not forced, a non-superuser owner is what a superuser already was. Every tenant
-- transaction still switches to pragma_store_tenant (and the relay and the sweeper to their
-- roles), whose policies are unchanged: the backstop is the same for all of them.
ALTER TABLE "resources" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "outbox_events" NO FORCE ROW LEVEL SECURITY;
-- IF EXISTS: the store's upgrade test applies 20261130000000 (which creates it) after the rest.
ALTER TABLE IF EXISTS "resource_edges" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "resource_changes" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "resource_history" NO FORCE ROW LEVEL SECURITY;
ALTER TABLE "resource_observations" NO FORCE ROW LEVEL SECURITY;
