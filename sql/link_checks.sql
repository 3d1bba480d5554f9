-- Every check of every link (`catalog links`): one row per URL per check, however many portals list it.
CREATE OR REPLACE VIEW link_checks AS
SELECT *
FROM lake_link_checks;
