-- Who publishes what: per portal and publisher, how many datasets and distributions, in which
-- (canonical) formats, and the shares open-licensed and machine-readable (a dataset is when at least
-- one of its distributions is). Reads each current dataset's version of dataset_version_formats, not
-- dataset_formats, so that the current datasets are worked out once and no list is built per dataset:
-- a publisher's formats are split out of the few distinct combinations its datasets have.
CREATE OR REPLACE VIEW coverage_by_publisher AS
SELECT
    d.portal_id,
    d.publisher_id,
    coalesce(any_value(d.publisher_name), '(no publisher)') AS publisher_name,
    count(*) AS datasets,
    CAST(coalesce(sum(f.distributions), 0) AS BIGINT) AS distributions,
    coalesce(list_sort(list_distinct(string_split(string_agg(DISTINCT f.format_keys, ','), ','))), []) AS formats,
    round(avg(CASE WHEN d.license_open THEN 1 ELSE 0 END), 3) AS share_open_licensed,
    round(avg(CASE WHEN f.machine_readable THEN 1 ELSE 0 END), 3) AS share_machine_readable
FROM datasets AS d
LEFT JOIN dataset_version_formats AS f USING (portal_id, dataset_id, harvest_id)
GROUP BY d.portal_id, d.publisher_id
ORDER BY d.portal_id, datasets DESC, publisher_name;
