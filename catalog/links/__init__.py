"""Do the download links work? Polite link checking at catalogue scale, with a queryable history.

- `settings`: how politely and patiently links are checked (light: no HTTP client loaded).
- `probe`: one URL checked (HEAD, or a one-byte GET), redirects followed through the address guard.
- `hosts`: the limits kept per host, whichever portals link there.
- `run`: which URLs are due, checked host by host at once, written to the lake's `link_checks`.

The views over the history are in `sql/link_*.sql`, `broken_links_by_*.sql` and `format_mismatch.sql`.
`check_links` is in `run`; only the settings are imported with the package, so a command that only
shows them (the CLI's help, Dagster's resources) does not load aiohttp.
"""

from catalog.links.settings import DEFAULT_BUDGET, DEFAULT_MINUTES, LinkCheckSettings

__all__ = ["DEFAULT_BUDGET", "DEFAULT_MINUTES", "LinkCheckSettings"]
