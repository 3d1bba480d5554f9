-- The link check asset's metadata: a portal's ten publishers with most dead links. Parameter: portal id.
SELECT publisher_name AS publisher, links, checked, broken, share_broken
FROM broken_links_by_publisher
WHERE portal_id = ? AND broken > 0
ORDER BY broken DESC
LIMIT 10
