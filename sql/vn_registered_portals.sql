-- Every registered Vietnamese portal with the province it was registered under (a pre-2025 ISO
-- 3166-2 code, or a current unit's code) and the current unit that contains it; `scope` 'national or
-- sectoral' for a catalogue registered under no province ('offline sample' for the one `make demo`
-- serves on this machine). The other Vietnam views place portals by this.
CREATE OR REPLACE VIEW vn_registered_portals AS
SELECT
    r.portal_id,
    r.title,
    r.url,
    r.software,
    CASE
        WHEN r.province IS NOT NULL THEN 'provincial'
        WHEN regexp_matches(r.url, '^https?://(127\.0\.0\.1|localhost)[:/]') THEN 'offline sample'
        ELSE 'national or sectoral'
    END AS scope,
    r.province AS registered_province,
    coalesce(former.name, unit.name) AS registered_province_name,
    unit.code AS unit_code,
    unit.name AS unit_name,
    r.city,
    r.ascn_pilot_city
FROM registry_portals AS r
LEFT JOIN vn_units_before_2025 AS former ON former.code = r.province
LEFT JOIN vn_units AS unit ON unit.code = coalesce(former.current_code, r.province)
WHERE r.country = 'VN';
