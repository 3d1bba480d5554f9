-- A portal page's row of the portal x category matrix, covered or not. Parameter: portal id.
SELECT * FROM theme_coverage WHERE portal_id = ?
