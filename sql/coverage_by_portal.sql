-- What each portal publishes now: datasets, distributions, publishers, and the shares of datasets
-- that are open-licensed, that state a licence at all, and that offer a machine-readable format (each
-- current dataset's version of dataset_version_formats: the current datasets are worked out once).
CREATE OR REPLACE VIEW coverage_by_portal AS
SELECT
    d.portal_id,
    count(*) AS datasets,
    CAST(coalesce(sum(f.distributions), 0) AS BIGINT) AS distributions,
    count(DISTINCT d.publisher_id) AS publishers,
    round(avg(CASE WHEN d.license_open THEN 1 ELSE 0 END), 3) AS share_open_licensed,
    round(avg(CASE WHEN d.license_key <> 'not-stated' THEN 1 ELSE 0 END), 3) AS share_licence_stated,
    round(avg(CASE WHEN f.machine_readable THEN 1 ELSE 0 END), 3) AS share_machine_readable,
    round(avg(CASE WHEN f.open_format THEN 1 ELSE 0 END), 3) AS share_open_format,
    max(d.modified) AS last_modified
FROM datasets AS d
LEFT JOIN dataset_version_formats AS f USING (portal_id, dataset_id, harvest_id)
GROUP BY d.portal_id
ORDER BY datasets DESC, d.portal_id;
