-- One row per current dataset: metadata quality scored the same way for every portal software.
--
-- Points follow data.europa.eu's Metadata Quality Assessment (MQA):
--   findability      keywords 30, categories/themes 30, spatial coverage 20, temporal coverage 20   /100
--   accessibility    every access URL answered at its last check 50, a download URL 20, every
--                    download URL answered at its last check 30 (link_status; `catalog links`)    /100
--   interoperability format 20, media type 10, a recognised format 10, non-proprietary 20,
--                    machine-readable 20                                                          /80
--   reusability      licence stated 20, licence recognised 10, access rights 10, contact 20,
--                    publisher 10                                                                  /70
--   contextuality    byte size 5, issued 5, modified 5                                             /15
-- 365 of the MQA's 405 points. Not scored: DCAT-AP compliance (30, a SHACL validation of the DCAT-AP
-- record, which CKAN, Socrata and the other APIs do not publish), the access rights vocabulary (5) and
-- rights (5). A link never checked has not answered: `links_checked` says how many of the dataset's
-- links have a check, so that a low accessibility can be told from an unchecked one.
-- And Open Data Portal Watch's dimensions, each a share from 0 to 1:
--   existence   title, description, keywords, publisher, contact, licence, issued, modified,
--               at least one distribution: present;
--   conformance what is given is well-formed: e-mail, http(s) URLs, recognised licence and format;
--   openness    open licence, open format, machine-readable.
-- `rating` uses the MQA's bands, scaled to the 365 points scored here.
CREATE OR REPLACE VIEW dataset_quality AS
WITH answered AS (
    SELECT
        x.portal_id,
        x.dataset_id,
        count(*) FILTER (WHERE a.state = 'ok') AS access_ok,
        count(*) FILTER (WHERE d.state = 'ok') AS download_ok,
        count(a.url) + count(d.url) AS links_checked
    FROM distributions AS x
    LEFT JOIN link_status AS a ON a.url = x.access_url
    LEFT JOIN link_status AS d ON d.url = x.download_url
    GROUP BY x.portal_id, x.dataset_id
),
facts AS (
    SELECT
        d.portal_id,
        d.dataset_id,
        d.title,
        d.publisher_id,
        d.publisher_name,
        len(d.keywords) > 0 AS has_keywords,
        len(d.themes) > 0 OR len(d.categories) > 0 AS has_themes,
        len(list_filter(map_keys(d.extras), lambda k: regexp_matches(lower(k), 'spatial|bbox|geographic|territory'))) > 0
            AS has_spatial,
        len(list_filter(map_keys(d.extras), lambda k: regexp_matches(lower(k), 'temporal'))) > 0 AS has_temporal,
        len(list_filter(map_keys(d.extras), lambda k: regexp_matches(lower(k), 'accesslevel|access_?rights|rights')))
            > 0 AS has_access_rights,
        d.description IS NOT NULL AS has_description,
        d.publisher_id IS NOT NULL AS has_publisher,
        d.contact_email IS NOT NULL OR d.contact_name IS NOT NULL AS has_contact,
        d.contact_email IS NULL OR regexp_matches(d.contact_email, '^[^@\s]+@[^@\s]+\.[^@\s]+$') AS email_ok,
        d.license_key <> 'not-stated' AS licence_stated,
        d.license_key NOT IN ('not-stated', 'unrecognised') AS licence_recognised,
        coalesce(d.license_open, false) AS licence_open,
        d.issued IS NOT NULL AS has_issued,
        d.modified IS NOT NULL AS has_modified,
        (d.issued_text IS NULL OR d.issued IS NOT NULL) AND (d.modified_text IS NULL OR d.modified IS NOT NULL)
            AS dates_ok,
        f.*,
        coalesce(a.access_ok, 0) AS access_ok,
        coalesce(a.download_ok, 0) AS download_ok,
        coalesce(a.links_checked, 0) AS links_checked
    FROM datasets AS d
    JOIN dataset_formats AS f USING (portal_id, dataset_id)
    LEFT JOIN answered AS a USING (portal_id, dataset_id)
),
scored AS (
    SELECT
        *,
        30 * has_keywords::INT + 30 * has_themes::INT + 20 * has_spatial::INT + 20 * has_temporal::INT
            AS findability,
        CASE WHEN distributions = 0 THEN 0 ELSE
            50 * (access_ok = distributions)::INT + 20 * (with_download_url > 0)::INT
            + 30 * (with_download_url > 0 AND download_ok = with_download_url)::INT END AS accessibility,
        CASE WHEN distributions = 0 THEN 0 ELSE
            20 * (with_format = distributions)::INT + 10 * (with_media_type = distributions)::INT
            + 10 * (with_known_format = distributions)::INT + 20 * open_format::INT + 20 * machine_readable::INT
        END AS interoperability,
        20 * licence_stated::INT + 10 * licence_recognised::INT + 10 * has_access_rights::INT
            + 20 * has_contact::INT + 10 * has_publisher::INT AS reusability,
        5 * (distributions > 0 AND with_byte_size = distributions)::INT + 5 * has_issued::INT
            + 5 * has_modified::INT AS contextuality
    FROM facts
)
SELECT
    portal_id,
    dataset_id,
    title,
    publisher_id,
    publisher_name,
    findability,
    accessibility,
    interoperability,
    reusability,
    contextuality,
    findability + accessibility + interoperability + reusability + contextuality AS points,
    365 AS max_points,
    links_checked,
    round(
        (1 + has_description::INT + has_keywords::INT + has_publisher::INT + has_contact::INT + licence_stated::INT
         + has_issued::INT + has_modified::INT + (distributions > 0)::INT) / 9, 3
    ) AS existence,
    round(
        (email_ok::INT + (bad_urls = 0)::INT + (licence_recognised OR NOT licence_stated)::INT
         + (unrecognised_formats = 0)::INT + dates_ok::INT) / 5, 3
    ) AS conformance,
    round((licence_open::INT + open_format::INT + machine_readable::INT) / 3, 3) AS openness,
    CASE
        WHEN points >= 365 * 351 / 405 THEN 'excellent'
        WHEN points >= 365 * 221 / 405 THEN 'good'
        WHEN points >= 365 * 121 / 405 THEN 'sufficient'
        ELSE 'bad'
    END AS rating
FROM scored;
