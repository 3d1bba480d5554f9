"""A link farm per test, and checking URLs through the library as `catalog links` does."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from catalog.links.run import LinkCheckRun, check_urls
from catalog.links.settings import LinkCheckSettings
from tests.linkfarm import serve_farm


@pytest.fixture
def farm():
    with serve_farm(hosts=4) as running:
        yield running


Checker = Callable[..., tuple[dict[str, dict[str, Any]], LinkCheckRun]]


@pytest.fixture
def check() -> Checker:
    """`check(urls, minutes=5, **settings)`: the rows by URL, and the run."""

    def run(urls: list[str], *, minutes: float = 5, settings: LinkCheckSettings | None = None, **fields: Any):
        settings = settings or LinkCheckSettings(**fields)
        found: list[dict[str, Any]] = []
        result = LinkCheckRun("test", datetime.now(UTC))
        asyncio.run(check_urls(urls, settings, result, time.monotonic() + minutes * 60, found.extend))
        return {row["url"]: row for row in found}, result

    return run
