-- Every distribution (file, API, link) of every dataset each portal publishes now.
CREATE OR REPLACE VIEW distributions AS
SELECT t.*
FROM lake_distributions AS t
JOIN latest_harvests AS latest USING (portal_id, harvest_id);
