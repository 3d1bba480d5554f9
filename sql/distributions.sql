-- Every distribution (file, API, link) of every dataset each portal publishes now.
CREATE OR REPLACE VIEW distributions AS
SELECT x.*
FROM lake_distributions AS x
SEMI JOIN datasets AS d USING (portal_id, dataset_id, harvest_id);
