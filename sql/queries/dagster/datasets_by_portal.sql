-- The views asset's metadata: datasets, distributions and publishers per portal, largest first.
SELECT
    portal_id,
    count(*) AS datasets,
    sum(num_distributions) AS distributions,
    count(DISTINCT publisher_id) AS publishers
FROM datasets
GROUP BY portal_id
ORDER BY datasets DESC
