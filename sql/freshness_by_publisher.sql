-- Freshness per portal and publisher: how many datasets declare a schedule, how many are overdue,
-- and the median age since the last modification.
CREATE OR REPLACE VIEW freshness_by_publisher AS
SELECT
    portal_id,
    publisher_id,
    coalesce(any_value(publisher_name), '(no publisher)') AS publisher_name,
    count(*) AS datasets,
    count(*) FILTER (WHERE update_interval_days IS NOT NULL) AS with_schedule,
    count(*) FILTER (WHERE overdue) AS overdue,
    round(count(*) FILTER (WHERE overdue) / nullif(count(*) FILTER (WHERE update_interval_days IS NOT NULL), 0), 3)
        AS share_overdue,
    count(*) FILTER (WHERE modified IS NULL) AS modified_unknown,
    round(median(age_days), 1) AS median_age_days
FROM freshness
GROUP BY portal_id, publisher_id
ORDER BY portal_id, overdue DESC, publisher_name;
