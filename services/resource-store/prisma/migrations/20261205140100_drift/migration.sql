-- Drift (api.md §9). drift: what differs from what was applied ({detected_at, fields}),
-- NULL while nothing does; drift_policy: heal (re-apply) or report (record only);
-- observation_id: the one live observation of the resource (a result carrying another
-- id was superseded by a later apply or refresh, and ends its cycle).
ALTER TABLE "resources" ADD COLUMN "drift" JSONB;
ALTER TABLE "resources" ADD COLUMN "drift_policy" TEXT NOT NULL DEFAULT 'heal';
ALTER TABLE "resources" ADD COLUMN "observation_id" TEXT;
