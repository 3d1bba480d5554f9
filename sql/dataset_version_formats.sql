-- Per dataset version (a dataset's row in one harvest): what its distributions offer. Worked out once per
-- version, straight from the lake's distributions, so that a view over the current datasets joins one row
-- per dataset on its version's keys instead of matching every distribution against the current datasets
-- first (a harvest's distributions belong to that harvest's version of their dataset). The counts are
-- dataset_formats'; `format_keys`: its distributions' recognised formats comma-separated, repeats and all,
-- cheap to roll up (no canonical format has a comma; dataset_formats lists them sorted, once each).
CREATE OR REPLACE VIEW dataset_version_formats AS
SELECT
    portal_id,
    harvest_id,
    dataset_id,
    string_agg(format_key, ',') AS format_keys,
    bool_or(coalesce(machine_readable, false)) AS machine_readable,
    bool_or(coalesce(open_format, false)) AS open_format,
    count(*) AS distributions,
    count(*) FILTER (WHERE access_url IS NOT NULL) AS with_access_url,
    count(*) FILTER (WHERE download_url IS NOT NULL) AS with_download_url,
    count(*) FILTER (WHERE format IS NOT NULL) AS with_format,
    count(*) FILTER (WHERE media_type IS NOT NULL) AS with_media_type,
    count(*) FILTER (WHERE format_key IS NOT NULL) AS with_known_format,
    count(*) FILTER (WHERE format IS NOT NULL AND format_key IS NULL) AS unrecognised_formats,
    count(*) FILTER (WHERE byte_size IS NOT NULL) AS with_byte_size,
    count(*) FILTER (WHERE access_url IS NOT NULL AND NOT regexp_matches(access_url, '^https?://')) AS bad_urls
FROM lake_distributions
GROUP BY portal_id, harvest_id, dataset_id;
