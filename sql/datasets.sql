-- Every dataset each portal publishes now: the current version of each, deleted ones left out.
-- harvest_id is the harvest that found this version; valid_from is when.
CREATE OR REPLACE VIEW datasets AS
SELECT * EXCLUDE (change, valid_to)
FROM dataset_history
WHERE valid_to IS NULL AND change <> 'deleted';
