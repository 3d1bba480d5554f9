-- Under which licences each portal publishes: datasets per canonical licence ('not-stated' when
-- none is given), whether it is open, and its share of the portal.
CREATE OR REPLACE VIEW coverage_by_license AS
SELECT
    d.portal_id,
    d.license_key AS license,
    any_value(d.license_open) AS is_open,
    count(*) AS datasets,
    CAST(coalesce(sum(f.distributions), 0) AS BIGINT) AS distributions,
    round(count(*) / sum(count(*)) OVER (PARTITION BY d.portal_id), 3) AS share_of_datasets,
    list(DISTINCT coalesce(d.license_title, d.license_id) ORDER BY coalesce(d.license_title, d.license_id))
        FILTER (WHERE coalesce(d.license_title, d.license_id) IS NOT NULL)[1:5] AS as_stated
FROM datasets AS d
LEFT JOIN dataset_version_formats AS f USING (portal_id, dataset_id, harvest_id)
GROUP BY d.portal_id, d.license_key
ORDER BY d.portal_id, datasets DESC, license;
