-- The links page: files not served in the format they declare, per portal and pair of formats.
SELECT portal_id, declared_format_key AS declared, served_format AS served, count(*) AS distributions
FROM format_mismatch
GROUP BY ALL
ORDER BY distributions DESC, portal_id
