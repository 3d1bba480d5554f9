-- Distributions whose file is not served in the format they declare (a "CSV" that serves a web page).
-- The declared format (distributions.format_key) is compared with the served Content-Type read by the
-- same format table (link_checks.served_format), for the link that answered: the download URL, or the
-- access URL where there is none. Not a mismatch: the same format; a served type that says nothing
-- (application/octet-stream, none); a compatible pair below (a CSV served as text/plain or as Excel,
-- as Windows servers do; a member of a family served as its base type; zipped formats served as ZIP).
-- Declared HTML and API are landing pages and services, not files: not compared.
CREATE OR REPLACE VIEW format_mismatch AS
WITH compatible(declared, served) AS (
    VALUES
        ('CSV', 'TXT'), ('CSV', 'XLS'), ('TSV', 'TXT'), ('TSV', 'CSV'),
        ('JSON', 'TXT'), ('JSON', 'GeoJSON'), ('JSON', 'JSON-LD'), ('GeoJSON', 'JSON'), ('JSON-LD', 'JSON'),
        ('XML', 'TXT'), ('XML', 'RDF'), ('XML', 'GML'), ('XML', 'KML'), ('XML', 'RSS'),
        ('RDF', 'XML'), ('GML', 'XML'), ('KML', 'XML'), ('RSS', 'XML'), ('Turtle', 'TXT'),
        ('WMS', 'XML'), ('WFS', 'XML'), ('WMTS', 'XML'), ('WFS', 'GML'),
        ('SHP', 'ZIP'), ('GTFS', 'ZIP'), ('KMZ', 'ZIP'), ('FileGDB', 'ZIP'), ('GPKG', 'ZIP'),
        ('XLSX', 'ZIP'), ('DOCX', 'ZIP'), ('ODS', 'ZIP'), ('ODT', 'ZIP'), ('ZIP', 'GTFS'), ('ZIP', 'SHP')
),
file_link AS (
    SELECT *
    FROM distribution_links
    QUALIFY row_number() OVER (
        PARTITION BY portal_id, dataset_id, distribution_id ORDER BY (role = 'download') DESC
    ) = 1
)
SELECT
    f.portal_id,
    f.dataset_id,
    f.distribution_id,
    f.publisher_name,
    f.url,
    f.format AS declared_format,
    f.format_key AS declared_format_key,
    f.content_type,
    f.served_format,
    f.checked_at
FROM file_link AS f
WHERE f.state = 'ok'
    AND f.format_key IS NOT NULL
    AND f.format_key NOT IN ('HTML', 'API')
    AND f.served_format IS NOT NULL
    AND f.served_format <> f.format_key
    AND NOT EXISTS (SELECT 1 FROM compatible AS c WHERE c.declared = f.format_key AND c.served = f.served_format)
ORDER BY f.portal_id, f.publisher_name, f.dataset_id, f.distribution_id;
