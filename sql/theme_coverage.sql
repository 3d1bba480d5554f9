-- The portal x category matrix: every portal against every reference category, with the number
-- of datasets (0 where the portal publishes nothing in that category) and its share of the portal.
CREATE OR REPLACE VIEW theme_coverage AS
WITH portals AS (SELECT portal_id, count(*) AS portal_datasets FROM datasets GROUP BY portal_id),
counts AS (SELECT portal_id, category, count(*) AS datasets FROM dataset_categories GROUP BY ALL)
SELECT
    p.portal_id,
    r.category,
    coalesce(c.datasets, 0) AS datasets,
    round(coalesce(c.datasets, 0) / p.portal_datasets, 3) AS share_of_portal,
    coalesce(c.datasets, 0) > 0 AS covered
FROM portals AS p
CROSS JOIN reference_categories AS r
LEFT JOIN counts AS c ON c.portal_id = p.portal_id AND c.category = r.category
ORDER BY p.portal_id, r.position;
