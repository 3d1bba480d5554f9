-- The overview's portal x category heat map.
SELECT portal_id, category, datasets FROM theme_coverage
