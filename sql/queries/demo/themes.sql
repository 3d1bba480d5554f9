-- `make demo`: the reference categories the sample portal covers. Parameter: portal id.
SELECT category, datasets FROM theme_coverage WHERE portal_id = ? AND covered ORDER BY datasets DESC, category
