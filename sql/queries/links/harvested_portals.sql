-- Every portal the lake holds a harvest of: a portal named to `catalog links` must be one.
SELECT DISTINCT portal_id FROM harvest_runs
