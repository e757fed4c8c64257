-- One writer of resource state (issue 21.1): a dead letter's ingest is a store
-- transaction like any other, as the tenant role, through the lifecycle: it stores the
-- entry and fails the resource that still waits on the event, together. The tenant role
-- may now insert its own scope's entries (the policy of migration 20261205020000 applies
-- its USING clause as the check on insert).
GRANT INSERT ON "dead_letters" TO pragma_store_tenant;
