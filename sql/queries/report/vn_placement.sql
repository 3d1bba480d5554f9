-- How Vietnam's publishers were placed (vn_publisher_province's `placed_by`), most datasets first.
SELECT placed_by, count(*) AS publishers, sum(datasets) AS datasets
FROM vn_publisher_province
GROUP BY placed_by
ORDER BY datasets DESC
