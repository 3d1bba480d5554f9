-- Per current dataset: its canonical formats and what its distributions offer (the coverage and
-- quality views build on this). `machine_readable` / `open_format`: at least one distribution is.
-- A dataset with no distribution has no formats and zero counts.
CREATE OR REPLACE VIEW dataset_formats AS
SELECT
    d.portal_id,
    d.dataset_id,
    coalesce(list_sort(list_distinct(string_split(f.format_keys, ','))), []) AS formats,
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
LEFT JOIN dataset_version_formats AS f USING (portal_id, dataset_id, harvest_id);
