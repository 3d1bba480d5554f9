-- A portal page's largest publishers with their datasets per quality rating (the report's RATINGS).
-- Parameters: portal id, how many.
SELECT
    publisher_name,
    count(*) AS datasets,
    count(*) FILTER (WHERE rating = 'excellent') AS excellent,
    count(*) FILTER (WHERE rating = 'good') AS good,
    count(*) FILTER (WHERE rating = 'sufficient') AS sufficient,
    count(*) FILTER (WHERE rating = 'bad') AS bad
FROM dataset_quality
WHERE portal_id = ?
GROUP BY publisher_name
ORDER BY datasets DESC
LIMIT ?
