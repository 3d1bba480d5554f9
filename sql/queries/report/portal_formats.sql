-- A portal page's formats, most distributions first. Parameter: portal id.
SELECT * FROM coverage_by_format WHERE portal_id = ?
