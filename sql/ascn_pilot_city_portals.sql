-- The ASEAN Smart Cities Network's 26 pilot cities, each with its registered portals and their state
-- (one row per city and portal; a city with no portal registered has one row with no portal):
-- whether the portal answered at its latest liveness check and what its latest complete harvest holds.
CREATE OR REPLACE VIEW ascn_pilot_city_portals AS
SELECT
    c.country,
    c.city,
    r.portal_id,
    r.title,
    r.url,
    r.software,
    a.reachable_now,
    a.last_checked_at,
    cov.datasets,
    cov.share_open_licensed,
    h.finished_at AS last_harvested_at
FROM ascn_pilot_cities AS c
LEFT JOIN registry_portals AS r ON r.country = c.country AND r.city = c.city
LEFT JOIN portal_availability AS a ON a.portal_id = r.portal_id
LEFT JOIN coverage_by_portal AS cov ON cov.portal_id = r.portal_id
LEFT JOIN latest_harvests AS l ON l.portal_id = r.portal_id
LEFT JOIN complete_harvests AS h ON h.portal_id = l.portal_id AND h.harvest_id = l.harvest_id
ORDER BY c.country, c.city, r.portal_id;
