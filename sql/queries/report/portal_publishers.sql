-- A portal page's largest publishers. Parameters: portal id, how many.
SELECT * FROM coverage_by_publisher WHERE portal_id = ? LIMIT ?
