-- Who publishes what: per portal and publisher, how many datasets and distributions, in which formats.
CREATE OR REPLACE VIEW coverage_by_publisher AS
WITH current AS MATERIALIZED (
    SELECT portal_id, harvest_id, dataset_id, publisher_id, publisher_name, num_distributions FROM datasets
),
publisher_datasets AS (
    SELECT
        portal_id,
        publisher_id,
        coalesce(any_value(publisher_name), '(no publisher)') AS publisher_name,
        count(*) AS datasets,
        CAST(sum(num_distributions) AS BIGINT) AS distributions
    FROM current
    GROUP BY portal_id, publisher_id
),
publisher_formats AS (
    SELECT portal_id, publisher_id, list(format ORDER BY format) AS formats
    FROM (
        SELECT DISTINCT c.portal_id, c.publisher_id, upper(trim(x.format)) AS format
        FROM lake_distributions AS x
        JOIN current AS c USING (portal_id, dataset_id, harvest_id)
        WHERE trim(x.format) <> ''
    )
    GROUP BY portal_id, publisher_id
)
SELECT
    p.portal_id,
    p.publisher_id,
    p.publisher_name,
    p.datasets,
    p.distributions,
    coalesce(f.formats, []) AS formats
FROM publisher_datasets AS p
LEFT JOIN publisher_formats AS f ON f.portal_id = p.portal_id AND f.publisher_id IS NOT DISTINCT FROM p.publisher_id
ORDER BY p.portal_id, p.datasets DESC, p.publisher_name;
