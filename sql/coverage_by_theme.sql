-- Per portal and reference category: datasets, distributions, and the shares open-licensed and
-- machine-readable (categories a portal lacks are in theme_coverage).
CREATE OR REPLACE VIEW coverage_by_theme AS
SELECT
    c.portal_id,
    c.category,
    count(*) AS datasets,
    CAST(coalesce(sum(f.distributions), 0) AS BIGINT) AS distributions,
    round(avg(CASE WHEN d.license_open THEN 1 ELSE 0 END), 3) AS share_open_licensed,
    round(avg(CASE WHEN f.machine_readable THEN 1 ELSE 0 END), 3) AS share_machine_readable
FROM dataset_categories AS c
JOIN datasets AS d USING (portal_id, dataset_id)
LEFT JOIN dataset_version_formats AS f USING (portal_id, dataset_id, harvest_id)
GROUP BY c.portal_id, c.category
ORDER BY c.portal_id, datasets DESC, c.category;
