-- The links page: the publishers with most dead links. Parameter: how many.
SELECT * FROM broken_links_by_publisher WHERE broken > 0 ORDER BY broken DESC, share_broken DESC LIMIT ?
