-- Dead links per publisher on each portal: of the distinct URLs its current distributions list, how
-- many were checked and how many are broken (link_status), how many datasets they hurt, and since when.
CREATE OR REPLACE VIEW broken_links_by_publisher AS
SELECT
    portal_id,
    publisher_id,
    any_value(publisher_name) AS publisher_name,
    count(DISTINCT url) AS links,
    count(DISTINCT url) FILTER (WHERE state <> 'unchecked') AS checked,
    count(DISTINCT url) FILTER (WHERE state = 'broken') AS broken,
    round(count(DISTINCT url) FILTER (WHERE state = 'broken')
        / nullif(count(DISTINCT url) FILTER (WHERE state IN ('ok', 'broken')), 0), 3) AS share_broken,
    count(DISTINCT dataset_id) FILTER (WHERE state = 'broken') AS datasets_with_broken_links,
    min(since) FILTER (WHERE state = 'broken') AS broken_since,
    max(checked_at) AS last_checked_at
FROM distribution_links
GROUP BY portal_id, publisher_id
ORDER BY broken DESC, portal_id, publisher_name;
