-- The views asset's metadata: how many of Vietnam's current units publish datasets, of how many.
SELECT count(*) FILTER (WHERE datasets > 0), count(*) FROM vn_province_coverage
