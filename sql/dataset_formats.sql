-- Per current dataset: its canonical formats and what its distributions offer (the coverage and
-- quality views build on this). `machine_readable` / `open_format`: at least one distribution is.
CREATE OR REPLACE VIEW dataset_formats AS
WITH per_dataset AS (
    SELECT
        portal_id,
        dataset_id,
        list(DISTINCT format_key ORDER BY format_key) FILTER (WHERE format_key IS NOT NULL) AS formats,
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
    FROM distributions
    GROUP BY portal_id, dataset_id
)
SELECT
    d.portal_id,
    d.dataset_id,
    coalesce(f.formats, []) AS formats,
    coalesce(f.machine_readable, false) AS machine_readable,
    coalesce(f.open_format, false) AS open_format,
    coalesce(f.distributions, 0) AS distributions,
    coalesce(f.with_access_url, 0) AS with_access_url,
    coalesce(f.with_download_url, 0) AS with_download_url,
    coalesce(f.with_format, 0) AS with_format,
    coalesce(f.with_media_type, 0) AS with_media_type,
    coalesce(f.with_known_format, 0) AS with_known_format,
    coalesce(f.unrecognised_formats, 0) AS unrecognised_formats,
    coalesce(f.with_byte_size, 0) AS with_byte_size,
    coalesce(f.bad_urls, 0) AS bad_urls
FROM datasets AS d
LEFT JOIN per_dataset AS f USING (portal_id, dataset_id);
