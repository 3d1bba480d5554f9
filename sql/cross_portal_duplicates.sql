-- The same dataset published on several portals (aggregators re-publish): datasets that share a
-- landing page, an identifier, or a normalised title and publisher with a dataset of another portal.
-- One row per such dataset, with how it matched and how many portals share the key.
CREATE OR REPLACE VIEW cross_portal_duplicates AS
WITH keys AS (
    SELECT portal_id, dataset_id, title, publisher_name, 'landing_page' AS matched_by,
           regexp_replace(lower(landing_page), '^https?://(www\.)?|/+$', '', 'g') AS match_key
    FROM datasets WHERE landing_page IS NOT NULL
    UNION ALL
    SELECT portal_id, dataset_id, title, publisher_name, 'identifier', lower(coalesce(name, dataset_id))
    FROM datasets WHERE length(coalesce(name, dataset_id)) >= 8
    UNION ALL
    SELECT portal_id, dataset_id, title, publisher_name, 'title_and_publisher',
           regexp_replace(strip_accents(lower(title || ' | ' || publisher_name)), '[^a-z0-9|]+', ' ', 'g')
    FROM datasets WHERE title IS NOT NULL AND publisher_name IS NOT NULL
),
shared AS (
    SELECT matched_by, match_key, count(DISTINCT portal_id) AS portals
    FROM keys
    GROUP BY matched_by, match_key
    HAVING count(DISTINCT portal_id) > 1
)
SELECT k.matched_by, k.match_key, s.portals, k.portal_id, k.dataset_id, k.title, k.publisher_name
FROM keys AS k
JOIN shared AS s USING (matched_by, match_key)
ORDER BY k.matched_by, k.match_key, k.portal_id, k.dataset_id;
