-- Who publishes what: per portal and publisher, how many datasets and distributions, in which
-- (canonical) formats, and the shares open-licensed and machine-readable.
CREATE OR REPLACE VIEW coverage_by_publisher AS
SELECT
    d.portal_id,
    d.publisher_id,
    coalesce(any_value(d.publisher_name), '(no publisher)') AS publisher_name,
    count(*) AS datasets,
    CAST(sum(f.distributions) AS BIGINT) AS distributions,
    list_sort(list_distinct(flatten(list(f.formats)))) AS formats,
    round(avg(CASE WHEN d.license_open THEN 1 ELSE 0 END), 3) AS share_open_licensed,
    round(avg(CASE WHEN f.machine_readable THEN 1 ELSE 0 END), 3) AS share_machine_readable
FROM datasets AS d
JOIN dataset_formats AS f USING (portal_id, dataset_id)
GROUP BY d.portal_id, d.publisher_id
ORDER BY d.portal_id, datasets DESC, publisher_name;
