-- The links page: the longest-broken links, once per portal and publisher. Parameter: how many.
SELECT portal_id, publisher_name, url, status, error, since
FROM distribution_links
WHERE state = 'broken'
GROUP BY ALL
ORDER BY since, portal_id, url
LIMIT ?
