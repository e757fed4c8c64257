-- The relay prunes published events past their retention (OUTBOX_RETENTION_HOURS). Its
-- policy (outbox_events_relay, for every command) already limits it to pending and published
-- rows; the statement itself deletes published ones only.
GRANT DELETE ON "outbox_events" TO pragma_store_relay;
