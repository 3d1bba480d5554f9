"""Real CKAN records recorded from live portals (../shared/fixtures), and larger catalogues built from them.

Tests and the benchmark read the recordings at run time from the fixtures folder beside the
repository; nothing recorded is copied into the project.
"""

from __future__ import annotations

import copy
import json
import uuid
from pathlib import Path
from typing import Any

BIRMINGHAM_SEARCH = "ckan/data.birmingham.gov.uk/package_search_q-purchase-card.json"
DATA_GOV_UK_SHOWS = (
    "ckan/data.gov.uk/v26_package_show_inspire.json",
    "ckan/data.gov.uk/v26_package_show_update.json",
    "ckan/data.gov.uk/v26_package_show_create.json",
    "ckan/data.gov.uk/v26_package_show_empty.json",
    "ckan/data.gov.uk/v26_new_api_package_show_inspire.json",
)


def load_recording(fixtures: Path, relative: str) -> Any:
    """A recorded JSON response. data.gov.uk's organisation files carry `//` comment lines: skipped."""
    text = (fixtures / relative).read_text(encoding="utf-8")
    return json.loads("\n".join(line for line in text.splitlines() if not line.startswith("//")))


def birmingham_packages(fixtures: Path) -> list[dict[str, Any]]:
    """The 10 package_search results recorded from data.birmingham.gov.uk."""
    return load_recording(fixtures, BIRMINGHAM_SEARCH)["result"]["results"]


def data_gov_uk_packages(fixtures: Path) -> list[dict[str, Any]]:
    """The 5 package_show results recorded from data.gov.uk (2018)."""
    return [load_recording(fixtures, path)["result"] for path in DATA_GOV_UK_SHOWS]


def real_packages(fixtures: Path) -> list[dict[str, Any]]:
    """Every recorded CKAN package: 10 from Birmingham, 5 from data.gov.uk (8.7 KB of JSON on average)."""
    return birmingham_packages(fixtures) + data_gov_uk_packages(fixtures)


def multiplied(records: list[dict[str, Any]], total: int) -> list[dict[str, Any]]:
    """`total` packages built from real ones: content kept; ids, names and creation times made unique."""
    packages = []
    for index in range(total):
        package = copy.deepcopy(records[index % len(records)])
        package["id"] = str(uuid.uuid5(uuid.NAMESPACE_URL, f"test-package-{index}"))
        package["name"] = f"{package['name']}-{index}"
        package["metadata_created"] = f"2020-01-01T00:00:00.{index:06d}"
        packages.append(package)
    return packages
