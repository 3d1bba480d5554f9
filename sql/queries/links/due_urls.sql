-- The next URLs a link check run takes, in link_queue's order: of the distributions of the portals in $1
-- (a VARCHAR[]; NULL: every portal), at most $2 of them.
SELECT url
FROM link_queue
WHERE $1::VARCHAR[] IS NULL OR list_has_any(portal_ids, $1::VARCHAR[])
ORDER BY last_checked_at ASC NULLS FIRST, url
LIMIT $2
