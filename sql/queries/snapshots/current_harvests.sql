-- Each harvested portal's latest complete harvest, named in a snapshot's manifest.
SELECT portal_id, harvest_id, finished_at, mode
FROM latest_harvests
JOIN harvest_runs USING (portal_id, harvest_id)
ORDER BY portal_id
