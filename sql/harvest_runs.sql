-- Every harvest run, complete, failed or still running, newest first: when, how much, and what went wrong.
CREATE OR REPLACE VIEW harvest_runs AS
SELECT
    *,
    date_diff('millisecond', started_at, finished_at) / 1000.0 AS duration_s
FROM lake_harvest_runs
ORDER BY started_at DESC;
