-- Every dataset each portal publishes now (its latest complete harvest).
CREATE OR REPLACE VIEW datasets AS
SELECT t.*
FROM lake_datasets AS t
JOIN latest_harvests AS latest USING (portal_id, harvest_id);
