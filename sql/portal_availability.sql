-- How reachable each portal has been: its latest check, and its record across all checks.
-- `software_changed` flags a portal whose detected software differs from the registry's.
CREATE OR REPLACE VIEW portal_availability AS
SELECT
    portal_id,
    arg_max(url, checked_at) AS url,
    arg_max(country, checked_at) AS country,
    arg_max(city, checked_at) AS city,
    bool_or(ascn_pilot_city) AS ascn_pilot_city,
    arg_max(registered_software, checked_at) AS registered_software,
    arg_max(detected_software, checked_at) AS detected_software,
    arg_max(reachable, checked_at) AS reachable_now,
    arg_max(status, checked_at) AS last_status,
    arg_max(detail, checked_at) AS last_detail,
    max(checked_at) AS last_checked_at,
    max(checked_at) FILTER (WHERE reachable) AS last_reachable_at,
    count(*) AS checks,
    round(avg(CASE WHEN reachable THEN 1 ELSE 0 END), 3) AS share_reachable,
    round(median(latency_ms) FILTER (WHERE reachable), 1) AS median_latency_ms,
    coalesce(arg_max(NOT matches_registry, checked_at), false) AS software_changed
FROM portal_checks
GROUP BY portal_id;
