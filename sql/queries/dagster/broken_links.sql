-- The link check asset's metadata: a portal's links, checked and broken. Parameter: portal id.
SELECT links, checked, broken, share_broken, datasets_with_broken_links
FROM broken_links_by_portal
WHERE portal_id = ?
