"""The identifiers that become folder names in the lake and partition keys in Dagster, checked in one
place below both the registry and the lake."""

from __future__ import annotations

import re

from catalog.errors import RegistryError

PORTAL_ID_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def validate_portal_id(portal_id: str) -> str:
    """Return `portal_id` if it is a slug (`[a-z0-9-]+`), else raise: it becomes a path and a partition key."""
    if not isinstance(portal_id, str) or not PORTAL_ID_PATTERN.fullmatch(portal_id):
        raise RegistryError(f"invalid portal id {portal_id!r}: use lowercase letters, digits and single hyphens")
    return portal_id
