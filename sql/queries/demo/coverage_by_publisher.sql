-- `make demo`: the sample portal's publishers with their formats. Parameter: portal id.
SELECT publisher_name AS publisher, datasets, distributions, array_to_string(formats, ', ') AS formats
FROM coverage_by_publisher
WHERE portal_id = ?
ORDER BY datasets DESC, publisher
