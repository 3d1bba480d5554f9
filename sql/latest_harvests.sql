-- For each portal, its latest complete harvest (harvest ids sort chronologically).
CREATE OR REPLACE VIEW latest_harvests AS
SELECT portal_id, max(harvest_id) AS harvest_id
FROM complete_harvests
GROUP BY portal_id;
