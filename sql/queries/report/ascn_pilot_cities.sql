-- The ASEAN Smart Cities Network's pilot cities and their portals.
SELECT * FROM ascn_pilot_city_portals
