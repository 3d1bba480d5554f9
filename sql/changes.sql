-- One row per dataset change noticed by a harvest: what changed on which portal, and when we saw it.
-- "What changed last week on portal X": WHERE portal_id = 'X' AND detected_at >= now() - INTERVAL 7 DAY.
CREATE OR REPLACE VIEW changes AS
SELECT portal_id, harvest_id, dataset_id, change, harvested_at AS detected_at, name, title, publisher_name
FROM dataset_history
ORDER BY detected_at DESC, portal_id, dataset_id;
