"""What a link check may do, and its defaults: apart from the checking itself (aiohttp), so that the CLI
and Dagster can show and take these settings without loading it."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from catalog import __version__

DEFAULT_BUDGET = 20_000
"""URLs per run: at the default 1 request/s per host, a day's runs cover a large portal in days."""
DEFAULT_MINUTES = 60.0

CONTACT_ENV = "CATALOG_CONTACT_URL"
PROJECT_URL = "https://github.com/opendatavn/catalog-harvester"
"""Where a site owner who sees our requests in their logs learns what we are; a deployment names its own
contact through `CATALOG_CONTACT_URL`."""


def link_user_agent() -> str:
    """The User-Agent names the project and gives a contact URL, as robots etiquette asks."""
    contact = os.environ.get(CONTACT_ENV) or PROJECT_URL
    return f"catalog-harvester-linkcheck/{__version__} (+{contact})"


@dataclass(frozen=True)
class LinkCheckSettings:
    """How politely and patiently links are checked. The defaults are what users get."""

    per_host_concurrency: int = 2
    """Requests in flight to one host at once."""
    per_host_rate: float = 1.0
    """Requests per second to one host; 0 means unlimited (local benchmarks only)."""
    max_in_flight: int = 256
    """Requests in flight in all, across hosts."""
    connect_timeout: float = 10.0
    timeout: float = 30.0
    """The longest one request may take, connecting and headers included (and at most `body_cap` bytes
    of body, whose loss changes nothing about the answer)."""
    max_redirects: int = 5
    body_cap: int = 64 * 1024
    """The most body bytes read from any answer."""
    retries: int = 2
    """Times a 429 or 503 is asked again after the wait it names (or 1 s, then 2 s without one)."""
    longest_wait: float = 60.0
    """The longest `Retry-After` honoured by waiting; a longer one is recorded as the answer."""
    timeouts_before_pause: int = 3
    """Timeouts in a row after which a host is left alone for the rest of the run."""
    user_agent: str = field(default_factory=link_user_agent)
    allow_private: bool = False
    """Allow loopback and private addresses (tests, an intranet deployment)."""

    def __post_init__(self) -> None:
        if self.per_host_concurrency < 1 or self.max_in_flight < 1 or self.max_redirects < 0:
            raise ValueError("per_host_concurrency and max_in_flight must be at least 1, max_redirects at least 0")
        if self.per_host_rate < 0 or not self.timeout > 0 or not self.connect_timeout > 0:
            raise ValueError("per_host_rate must not be negative, and the timeouts must be more than 0")
