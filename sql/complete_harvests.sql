-- Every harvest that completed: only these are ever visible in the dataset views.
CREATE OR REPLACE VIEW complete_harvests AS
SELECT portal_id, harvest_id, mode, started_at, finished_at
FROM lake_harvest_runs
WHERE status = 'complete';
