-- Vietnam's registered portals, each under the current (post-2025) unit containing the province it
-- was registered under (`scope` 'provincial'), or 'national or sectoral' when it has none: whether it
-- answered at its latest liveness check (`catalog check`) and what its latest complete harvest holds.
CREATE OR REPLACE VIEW vn_portals AS
SELECT
    p.*,
    a.reachable_now,
    a.last_checked_at,
    c.datasets,
    c.publishers,
    c.share_open_licensed,
    c.share_machine_readable,
    h.finished_at AS last_harvested_at
FROM vn_registered_portals AS p
LEFT JOIN portal_availability AS a USING (portal_id)
LEFT JOIN coverage_by_portal AS c USING (portal_id)
LEFT JOIN latest_harvests AS l USING (portal_id)
LEFT JOIN complete_harvests AS h ON h.portal_id = l.portal_id AND h.harvest_id = l.harvest_id
ORDER BY p.scope DESC, p.unit_code, p.portal_id;
