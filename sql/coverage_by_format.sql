-- Which formats each portal offers: distributions and datasets per canonical format (or
-- 'unrecognised'), whether the format is machine-readable and open, and its share of the portal.
CREATE OR REPLACE VIEW coverage_by_format AS
SELECT
    portal_id,
    coalesce(format_key, 'unrecognised') AS format,
    any_value(machine_readable) AS machine_readable,
    any_value(open_format) AS open_format,
    count(*) AS distributions,
    count(DISTINCT dataset_id) AS datasets,
    round(count(*) / sum(count(*)) OVER (PARTITION BY portal_id), 3) AS share_of_distributions,
    list(DISTINCT format ORDER BY format) FILTER (WHERE format IS NOT NULL)[1:10] AS spellings
FROM distributions
GROUP BY portal_id, coalesce(format_key, 'unrecognised')
ORDER BY portal_id, distributions DESC, format;
