-- Each portal's metadata quality, for the overview and its own page.
SELECT * FROM quality_by_portal
