-- Each link's latest check, its state, and since when it has been in that state.
--   state  ok           the final answer (after redirects) had a status below 400
--          broken       a status of 400 or more (but 429), or no answer: dns, refused, timeout, tls,
--                       too_many_redirects, connection, invalid_url (catalog/links/probe.py, ERROR_CLASSES)
--          throttled    429 after the waits the host asked for, or not requested because the host asked for
--                       a longer wait than a run gives it: nothing is known yet
--          not_checked  refused by the address guard (blocked), or not an http(s) URL
--   since  the first check of the unbroken run of checks, up to the latest, in that same state; for ok
--          and broken, checks that tell nothing (throttled, not_checked) do not break the run
--   status the final HTTP status, null when none came
CREATE OR REPLACE VIEW link_status AS
WITH checks AS (
    SELECT
        *,
        CASE
            WHEN error IN ('blocked', 'unsupported_scheme') THEN 'not_checked'
            WHEN error = 'throttled' OR (error IS NULL AND status = 429) THEN 'throttled'
            WHEN error IS NULL AND status < 400 THEN 'ok'
            ELSE 'broken'
        END AS state
    FROM link_checks
),
latest AS (
    SELECT *
    FROM checks
    QUALIFY row_number() OVER (PARTITION BY url ORDER BY checked_at DESC, check_id DESC) = 1
),
last_other_state AS (
    SELECT c.url, max(c.checked_at) AS changed_at
    FROM checks AS c
    JOIN latest AS l ON l.url = c.url AND c.state <> l.state
    WHERE l.state NOT IN ('ok', 'broken') OR c.state IN ('ok', 'broken')
    GROUP BY c.url
),
current_run AS (
    SELECT c.url, min(c.checked_at) AS since, count(*) AS checks_in_state
    FROM checks AS c
    JOIN latest AS l ON l.url = c.url AND c.state = l.state
    LEFT JOIN last_other_state AS o ON o.url = c.url
    WHERE o.changed_at IS NULL OR c.checked_at > o.changed_at
    GROUP BY c.url
)
SELECT
    l.url,
    l.state,
    l.status,
    l.error,
    l.detail,
    l.checked_at,
    r.since,
    r.checks_in_state,
    l.final_url,
    l.redirects,
    l.method,
    l.content_type,
    l.served_format,
    l.content_length,
    l.last_modified,
    l.latency_ms
FROM latest AS l
JOIN current_run AS r USING (url);
