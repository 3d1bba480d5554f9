-- `make demo`: the sample portal's links, checked, broken and served not as declared.
-- Parameters: portal id, the same portal id.
SELECT
    links,
    checked,
    broken,
    share_broken,
    datasets_with_broken_links,
    (SELECT count(*) FROM format_mismatch WHERE portal_id = ?) AS served_not_as_declared
FROM broken_links_by_portal
WHERE portal_id = ?
