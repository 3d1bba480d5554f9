"""Do the download links work? Polite link checking at catalogue scale, with a queryable history.

- `probe`: one URL checked (HEAD, or a one-byte GET), redirects followed through the address guard.
- `hosts`: the limits kept per host, whichever portals link there.
- `run`: which URLs are due, checked host by host at once, written to the lake's `link_checks`.

The views over the history are in `sql/link_*.sql`, `broken_links_by_*.sql` and `format_mismatch.sql`.
"""

from catalog.links.probe import ERROR_CLASSES, LinkCheckSettings
from catalog.links.run import DEFAULT_BUDGET, DEFAULT_MINUTES, LinkCheckRun, check_links

__all__ = ["DEFAULT_BUDGET", "DEFAULT_MINUTES", "ERROR_CLASSES", "LinkCheckRun", "LinkCheckSettings", "check_links"]
