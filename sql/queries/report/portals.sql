-- The overview's portals, largest first: one page each.
SELECT * FROM coverage_by_portal
