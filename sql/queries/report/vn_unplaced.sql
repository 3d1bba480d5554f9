-- The largest Vietnamese publishers placed in no unit, and why. Parameter: how many.
SELECT portal_id, publisher_name, datasets, rule
FROM vn_publisher_province
WHERE unit_code IS NULL
ORDER BY datasets DESC, publisher_name
LIMIT ?
