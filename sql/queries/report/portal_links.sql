-- A portal page's dead links. Parameter: portal id.
SELECT * FROM broken_links_by_portal WHERE portal_id = ?
