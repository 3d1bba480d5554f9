-- A portal page's publishers by overdue datasets. Parameters: portal id, how many.
SELECT * FROM freshness_by_publisher WHERE portal_id = ? LIMIT ?
