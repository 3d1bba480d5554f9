-- The report asset's metadata: the catalogue's totals across every portal.
SELECT
    count(*) AS datasets,
    round(avg(CASE WHEN license_open THEN 1 ELSE 0 END), 3) AS share_open_licensed,
    (SELECT round(avg(points), 1) FROM dataset_quality) AS avg_quality_points,
    (SELECT count(*) FILTER (WHERE overdue) FROM freshness) AS overdue
FROM datasets
