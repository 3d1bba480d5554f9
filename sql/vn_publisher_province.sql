-- Each publisher on a Vietnamese portal, mapped to the current (post-2025) unit its title names
-- ("Sở Tài chính tỉnh Long An" -> Tây Ninh), else to its portal's unit. The match rule, visible:
-- 1. Titles and the spellings in `vn_place_names` (every unit's old and current names, tone marks
--    placed both ways, other names such as 'TP.HCM') are compared as whole words, lower case,
--    punctuation as spaces.
-- 2. A name matches as written, with its diacritics, or as written without any (folded to ASCII,
--    đ as d: 'UBND tinh Ha Giang', 'Sở Y tế Ha Noi'); a title's own diacritics are kept, so 'Huệ'
--    is not 'Huế' and 'Hải dương học' (oceanography) is not Hải Dương.
-- 3. A name that is also a word (Hồ Chí Minh, Thái Bình, Hòa Bình) counts only as
--    'tỉnh / thành phố / TP <name>' or '<name> province / city' (see its `rule`).
--    A name inside a phrase meaning something else (Bình Dương in Thái Bình Dương, the Pacific)
--    does not count (its `unless`).
-- 4. A title naming units of two current provinces is `ambiguous` (no unit, both listed), unless
--    its portal's province is one of them: then it is placed there.
-- 5. A title naming none takes the unit of its portal's registered province; a publisher on a
--    national catalogue naming none stays unplaced.
-- `placed_by` says which applied: 'title', 'portal', 'ambiguous' or 'unplaced'; `rule` says how.
CREATE OR REPLACE VIEW vn_publisher_province AS
WITH vn_publishers AS (
    SELECT
        row_number() OVER () AS publisher_key,
        d.portal_id,
        d.publisher_id,
        mode(d.publisher_name) AS publisher_name,
        count(*) AS datasets,
        any_value(p.unit_code) AS portal_unit_code
    FROM datasets AS d
    JOIN vn_registered_portals AS p USING (portal_id)
    GROUP BY d.portal_id, d.publisher_id
),
texts AS (
    SELECT DISTINCT spelling AS text FROM vn_place_names
    UNION
    SELECT DISTINCT unless FROM vn_place_names WHERE unless IS NOT NULL
    UNION
    SELECT DISTINCT publisher_name FROM vn_publishers WHERE publisher_name IS NOT NULL
),
words AS (
    SELECT
        text,
        ' ' || trim(regexp_replace(lower(nfc_normalize(text)), '[^\pL\pN]+', ' ', 'g')) || ' ' AS accented,
        ' ' || trim(regexp_replace(lower(strip_accents(translate(text, 'Đđ', 'Dd'))), '[^a-z0-9]+', ' ', 'g')) || ' '
            AS plain
    FROM texts
),
matches AS (
    SELECT
        p.publisher_key,
        n.spelling,
        n.current_code,
        n.former_code,
        n.rule
    FROM vn_publishers AS p
    JOIN words AS title ON title.text = p.publisher_name
    JOIN vn_place_names AS n ON true
    JOIN words AS place ON place.text = n.spelling
    LEFT JOIN words AS other_meaning ON other_meaning.text = n.unless
    WHERE (contains(title.accented, place.accented) OR contains(title.accented, place.plain))
        AND NOT coalesce(
            contains(title.accented, other_meaning.accented) OR contains(title.accented, other_meaning.plain), false
        )
),
found AS (
    SELECT
        publisher_key,
        list(DISTINCT current_code ORDER BY current_code) AS current_codes,
        list(DISTINCT spelling ORDER BY spelling) AS spellings,
        list(DISTINCT former_code ORDER BY former_code) FILTER (WHERE former_code IS NOT NULL) AS former_codes,
        string_agg(DISTINCT rule, '; ' ORDER BY rule) AS rules
    FROM matches
    GROUP BY publisher_key
),
decided AS (
    SELECT
        p.*,
        f.spellings,
        f.former_codes,
        CASE
            WHEN len(f.current_codes) = 1 THEN f.current_codes[1]
            WHEN f.current_codes IS NULL OR list_contains(f.current_codes, p.portal_unit_code) THEN p.portal_unit_code
        END AS unit_code,
        CASE
            WHEN len(f.current_codes) = 1 THEN 'title'
            WHEN list_contains(f.current_codes, p.portal_unit_code) THEN 'portal'
            WHEN f.current_codes IS NOT NULL THEN 'ambiguous'
            WHEN p.portal_unit_code IS NOT NULL THEN 'portal'
            ELSE 'unplaced'
        END AS placed_by,
        CASE
            WHEN len(f.current_codes) = 1 THEN 'title names it (' || f.rules || ')'
            WHEN list_contains(f.current_codes, p.portal_unit_code)
                THEN 'title names ' || array_to_string(f.current_codes, ', ') || '; its portal''s province is one'
            WHEN f.current_codes IS NOT NULL THEN 'ambiguous: names ' || array_to_string(f.current_codes, ', ')
            WHEN p.portal_unit_code IS NOT NULL THEN 'portal''s province'
        END AS rule
    FROM vn_publishers AS p
    LEFT JOIN found AS f USING (publisher_key)
)
SELECT
    d.portal_id,
    d.publisher_id,
    d.publisher_name,
    d.datasets,
    d.spellings AS matched_names,
    d.former_codes AS matched_former_units,
    d.unit_code,
    u.name AS unit_name,
    d.placed_by,
    d.rule
FROM decided AS d
LEFT JOIN vn_units AS u ON u.code = d.unit_code
ORDER BY d.portal_id, d.datasets DESC, d.publisher_name;
