-- The links page: dead links per portal.
SELECT * FROM broken_links_by_portal
