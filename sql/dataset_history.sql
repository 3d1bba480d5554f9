-- Every version of every dataset, from complete harvests: when it was seen (valid_from) until the next
-- version replaced it (valid_to, null for the current one). `change` says how the version arose:
-- 'added', 'modified', or 'deleted' (a tombstone: the dataset vanished from the portal).
CREATE OR REPLACE VIEW dataset_history AS
SELECT
    d.*,
    d.harvested_at AS valid_from,
    lead(d.harvested_at) OVER (PARTITION BY d.portal_id, d.dataset_id ORDER BY d.harvest_id) AS valid_to
FROM lake_datasets AS d
SEMI JOIN complete_harvests AS c USING (portal_id, harvest_id);
