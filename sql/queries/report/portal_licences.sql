-- A portal page's licences, most datasets first. Parameter: portal id.
SELECT * FROM coverage_by_license WHERE portal_id = ?
