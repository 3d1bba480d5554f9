-- Dead links per portal: of the distinct URLs its current distributions list, how many were checked,
-- how many are broken (link_status), of which kind, how many datasets they hurt, and since when.
CREATE OR REPLACE VIEW broken_links_by_portal AS
SELECT
    portal_id,
    count(DISTINCT url) AS links,
    count(DISTINCT url) FILTER (WHERE state <> 'unchecked') AS checked,
    count(DISTINCT url) FILTER (WHERE state = 'broken') AS broken,
    round(count(DISTINCT url) FILTER (WHERE state = 'broken')
        / nullif(count(DISTINCT url) FILTER (WHERE state IN ('ok', 'broken')), 0), 3) AS share_broken,
    count(DISTINCT url) FILTER (WHERE state = 'broken' AND status BETWEEN 400 AND 499) AS http_4xx,
    count(DISTINCT url) FILTER (WHERE state = 'broken' AND status >= 500) AS http_5xx,
    count(DISTINCT url) FILTER (WHERE state = 'broken' AND error IS NOT NULL) AS no_answer,
    count(DISTINCT url) FILTER (WHERE state IN ('throttled', 'not_checked')) AS not_known,
    count(DISTINCT dataset_id) FILTER (WHERE state = 'broken') AS datasets_with_broken_links,
    min(since) FILTER (WHERE state = 'broken') AS broken_since,
    max(checked_at) AS last_checked_at
FROM distribution_links
GROUP BY portal_id
ORDER BY broken DESC, portal_id;
