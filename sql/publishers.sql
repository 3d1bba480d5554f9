-- Every publisher (organisation) of each portal now.
CREATE OR REPLACE VIEW publishers AS
SELECT t.*
FROM lake_publishers AS t
JOIN latest_harvests AS latest USING (portal_id, harvest_id);
