-- How fresh each current dataset is, as seen by the portal's latest complete harvest (`observed_at`):
-- days since it was last modified, the update frequency it declares, and `overdue` when it was not
-- updated within that interval. Datasets declaring no schedule (or irregular, as needed) are never
-- overdue; `overdue` is null when the modification date is unknown.
CREATE OR REPLACE VIEW freshness AS
WITH observed AS (
    SELECT r.portal_id, r.started_at AS observed_at
    FROM latest_harvests AS l
    JOIN lake_harvest_runs AS r USING (portal_id, harvest_id)
)
SELECT
    d.portal_id,
    d.dataset_id,
    d.title,
    d.publisher_id,
    d.publisher_name,
    d.modified,
    d.modified_text,
    o.observed_at,
    round(date_diff('second', d.modified, o.observed_at) / 86400.0, 1) AS age_days,
    d.frequency AS declared_frequency,
    d.update_frequency,
    d.update_interval_days,
    CASE
        WHEN d.update_interval_days IS NULL THEN false
        WHEN d.modified IS NULL THEN NULL
        ELSE date_diff('second', d.modified, o.observed_at) / 86400.0 > d.update_interval_days
    END AS overdue
FROM datasets AS d
JOIN observed AS o USING (portal_id);
