-- The Vietnam page's 34 current units with where each sits on the tile map.
SELECT c.*, u.tile_row, u.tile_col
FROM vn_province_coverage AS c
JOIN vn_units AS u USING (code)
ORDER BY c.gso_code
