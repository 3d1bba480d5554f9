-- `make demo`: the current provincial units publishing, with the pre-2025 provinces each covers.
SELECT
    name AS province,
    array_to_string([f.name FOR f IN former_units], ', ') AS "covers (before 2025)",
    datasets,
    publishers,
    share_open_licensed
FROM vn_province_coverage
WHERE datasets > 0
ORDER BY datasets DESC, name
