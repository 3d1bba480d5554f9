-- Every link of every current distribution (its access URL and its download URL, `role`), with who
-- publishes it and the link's latest check (`state` 'unchecked' until one is made; see link_status).
CREATE OR REPLACE VIEW distribution_links AS
WITH links AS (
    SELECT portal_id, dataset_id, distribution_id, format, format_key, 'access' AS role, access_url AS url
    FROM distributions
    UNION ALL
    SELECT portal_id, dataset_id, distribution_id, format, format_key, 'download' AS role, download_url AS url
    FROM distributions
)
SELECT
    k.portal_id,
    k.dataset_id,
    k.distribution_id,
    d.publisher_id,
    d.publisher_name,
    k.role,
    k.url,
    k.format,
    k.format_key,
    coalesce(s.state, 'unchecked') AS state,
    s.status,
    s.error,
    s.checked_at,
    s.since,
    s.content_type,
    s.served_format
FROM links AS k
JOIN datasets AS d USING (portal_id, dataset_id)
LEFT JOIN link_status AS s ON s.url = k.url
WHERE k.url IS NOT NULL AND trim(k.url) <> '';
