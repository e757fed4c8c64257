-- A history entry is written once per (resource, event, kind): enforced by a unique index and
-- ON CONFLICT DO NOTHING instead of a NOT EXISTS over the table. The NOT EXISTS was a named
-- prepared statement over jsonb_to_recordset, which the planner takes to return 100 rows (a
-- write brings 1-3): it chose a hash anti-join over the whole history, so every history write
-- read every row (the drift bench, 2,000 resources: 8,002 sequential scans, 96 million rows)
-- and applies slowed as the history grew. An index probe is part of the insert itself.
DELETE FROM "resource_history" h
  USING "resource_history" d
  WHERE h.event_id IS NOT NULL AND d.event_id = h.event_id AND d.kind = h.kind
    AND d.org_id = h.org_id AND d.project_id = h.project_id AND d.space_id = h.space_id AND d.resource_id = h.resource_id
    AND d.seq < h.seq;
CREATE UNIQUE INDEX "resource_history_once_per_event" ON "resource_history" ("org_id", "project_id", "space_id", "resource_id", "event_id", "kind")
  WHERE "event_id" IS NOT NULL;
