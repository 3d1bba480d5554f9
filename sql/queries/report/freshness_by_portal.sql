-- Per portal: how many datasets declare an update schedule, and how many are overdue.
SELECT
    portal_id,
    count(*) FILTER (WHERE update_interval_days IS NOT NULL) AS with_schedule,
    count(*) FILTER (WHERE overdue) AS overdue
FROM freshness
GROUP BY portal_id
ORDER BY portal_id
