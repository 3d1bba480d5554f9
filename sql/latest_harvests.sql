-- For each portal, its latest complete harvest: the snapshot the current-state views show.
-- Harvest ids sort chronologically, so the greatest complete one is the latest.
CREATE OR REPLACE VIEW latest_harvests AS
SELECT portal_id, max(harvest_id) AS harvest_id
FROM lake_harvest_runs
WHERE status = 'complete'
GROUP BY portal_id;
