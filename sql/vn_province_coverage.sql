-- Which of Vietnam's 34 current provincial units publish open data, how much, how open and how fresh:
-- one row per unit, those with nothing included. A dataset counts for the unit its publisher is
-- mapped to (`vn_publisher_province`: the unit its title names, else its portal's), wherever it is
-- published, the national catalogue included; a dataset an aggregator re-publishes counts once per
-- portal (`cross_portal_duplicates` lists them). `publishers`: distinct publisher names. Portals count under the current unit containing the
-- province they were registered under; `former_units` lists the pre-2025 provinces a unit covers,
-- each with its registered portals. Catalogues with no province are in `vn_portals`
-- (scope 'national or sectoral'). `median_age_days`: days from each dataset's last modification to
-- its portal's latest harvest.
CREATE OR REPLACE VIEW vn_province_coverage AS
WITH portals AS (
    SELECT
        p.unit_code,
        count(*) AS portals_registered,
        count(a.last_checked_at) AS portals_checked,
        count(*) FILTER (WHERE a.reachable_now) AS portals_reachable,
        count(l.harvest_id) AS portals_harvested
    FROM vn_registered_portals AS p
    LEFT JOIN portal_availability AS a USING (portal_id)
    LEFT JOIN latest_harvests AS l USING (portal_id)
    WHERE p.unit_code IS NOT NULL
    GROUP BY p.unit_code
),
attributed AS (
    SELECT
        m.unit_code,
        d.portal_id,
        m.publisher_name,
        d.license_open,
        f.machine_readable,
        fresh.age_days,
        d.modified,
        p.unit_code IS NOT DISTINCT FROM m.unit_code AS on_own_portal
    FROM datasets AS d
    JOIN vn_publisher_province AS m
        ON m.portal_id = d.portal_id AND m.publisher_id IS NOT DISTINCT FROM d.publisher_id
    JOIN vn_registered_portals AS p ON p.portal_id = d.portal_id
    LEFT JOIN dataset_version_formats AS f
        ON f.portal_id = d.portal_id AND f.dataset_id = d.dataset_id AND f.harvest_id = d.harvest_id
    LEFT JOIN freshness AS fresh ON fresh.portal_id = d.portal_id AND fresh.dataset_id = d.dataset_id
    WHERE m.unit_code IS NOT NULL
),
published AS (
    SELECT
        unit_code,
        count(*) AS datasets,
        count(*) FILTER (WHERE on_own_portal) AS datasets_on_own_portals,
        count(*) FILTER (WHERE NOT on_own_portal) AS datasets_elsewhere,
        count(DISTINCT lower(publisher_name)) AS publishers,
        round(avg(CASE WHEN license_open THEN 1 ELSE 0 END), 3) AS share_open_licensed,
        round(avg(CASE WHEN machine_readable THEN 1 ELSE 0 END), 3) AS share_machine_readable,
        round(median(age_days), 1) AS median_age_days,
        max(modified) AS last_modified
    FROM attributed
    GROUP BY unit_code
),
former AS (
    SELECT
        f.current_code AS unit_code,
        list(
            {'code': f.code, 'name': f.name, 'portals': coalesce(r.portals, [])} ORDER BY f.gso_code
        ) AS former_units
    FROM vn_units_before_2025 AS f
    LEFT JOIN (
        SELECT registered_province, list(portal_id ORDER BY portal_id) AS portals
        FROM vn_registered_portals
        GROUP BY registered_province
    ) AS r ON r.registered_province = f.code
    GROUP BY f.current_code
)
SELECT
    u.code,
    u.name,
    u.name_ascii,
    u.type,
    u.gso_code,
    u.iso_3166_2,
    coalesce(p.portals_registered, 0) AS portals_registered,
    coalesce(p.portals_checked, 0) AS portals_checked,
    coalesce(p.portals_reachable, 0) AS portals_reachable,
    coalesce(p.portals_harvested, 0) AS portals_harvested,
    coalesce(s.datasets, 0) AS datasets,
    coalesce(s.datasets_on_own_portals, 0) AS datasets_on_own_portals,
    coalesce(s.datasets_elsewhere, 0) AS datasets_elsewhere,
    coalesce(s.publishers, 0) AS publishers,
    s.share_open_licensed,
    s.share_machine_readable,
    s.median_age_days,
    s.last_modified,
    f.former_units
FROM vn_units AS u
LEFT JOIN portals AS p ON p.unit_code = u.code
LEFT JOIN published AS s ON s.unit_code = u.code
LEFT JOIN former AS f ON f.unit_code = u.code
ORDER BY u.gso_code;
