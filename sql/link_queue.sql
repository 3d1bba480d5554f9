-- Which links the next `catalog links` run checks, in order: the distinct access and download URLs of
-- the current distributions, those never checked first, then those checked longest ago. `portal_ids`:
-- the portals listing the URL; `distributions`: how many distributions list it.
CREATE OR REPLACE VIEW link_queue AS
WITH listed AS (
    SELECT portal_id, dataset_id, distribution_id, access_url AS url FROM distributions
    UNION
    SELECT portal_id, dataset_id, distribution_id, download_url AS url FROM distributions
),
per_url AS (
    SELECT url, list(DISTINCT portal_id ORDER BY portal_id) AS portal_ids, count(*) AS distributions
    FROM listed
    WHERE url IS NOT NULL AND trim(url) <> ''
    GROUP BY url
),
last_check AS (
    SELECT url, max(checked_at) AS last_checked_at
    FROM link_checks
    GROUP BY url
)
SELECT u.url, u.portal_ids, u.distributions, c.last_checked_at
FROM per_url AS u
LEFT JOIN last_check AS c USING (url)
ORDER BY c.last_checked_at ASC NULLS FIRST, u.url;
