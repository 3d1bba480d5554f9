-- Which formats each portal offers: distributions and datasets per canonical format ('not-stated'
-- when a distribution gives no format or media type, 'unrecognised' when what it gives matches none),
-- whether the format is machine-readable and open, and its share of the portal.
CREATE OR REPLACE VIEW coverage_by_format AS
WITH keyed AS (
    SELECT
        *,
        coalesce(format_key, CASE WHEN format IS NULL AND media_type IS NULL THEN 'not-stated' ELSE 'unrecognised' END)
            AS canonical
    FROM distributions
)
SELECT
    portal_id,
    canonical AS format,
    any_value(machine_readable) AS machine_readable,
    any_value(open_format) AS open_format,
    count(*) AS distributions,
    count(DISTINCT dataset_id) AS datasets,
    round(count(*) / sum(count(*)) OVER (PARTITION BY portal_id), 3) AS share_of_distributions,
    list(DISTINCT format ORDER BY format) FILTER (WHERE format IS NOT NULL)[1:10] AS spellings
FROM keyed
GROUP BY portal_id, canonical
ORDER BY portal_id, distributions DESC, format;
