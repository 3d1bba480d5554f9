-- Vietnam's catalogues with no province: national, sectoral, and the offline sample.
SELECT * FROM vn_portals WHERE scope <> 'provincial'
