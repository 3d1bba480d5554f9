-- Who publishes what: per portal and publisher, how many datasets and distributions, in which formats.
CREATE OR REPLACE VIEW coverage_by_publisher AS
WITH publisher_datasets AS (
    SELECT
        portal_id,
        publisher_id,
        coalesce(any_value(publisher_name), '(no publisher)') AS publisher_name,
        count(*) AS datasets,
        CAST(sum(num_distributions) AS BIGINT) AS distributions
    FROM datasets
    GROUP BY portal_id, publisher_id
),
publisher_formats AS (
    SELECT
        d.portal_id,
        d.publisher_id,
        list_sort(list_distinct(list(upper(trim(x.format))) FILTER (WHERE trim(x.format) <> ''))) AS formats
    FROM distributions AS x
    JOIN datasets AS d USING (portal_id, dataset_id)
    GROUP BY d.portal_id, d.publisher_id
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
