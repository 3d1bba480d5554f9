-- Every liveness check of every registered portal (`catalog check`): one row per portal per check.
CREATE OR REPLACE VIEW portal_checks AS
SELECT *
FROM lake_portal_checks;
