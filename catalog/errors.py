"""Errors a user sees: each says what failed and where, in one line."""

from __future__ import annotations


class CatalogError(Exception):
    """Base class for errors the CLI reports as one line on stderr."""


class HarvestError(CatalogError):
    """A harvest could not complete. `where` names the host (or file) and `cause` the reason.

    `transient`: trying the same request again may succeed. `overloaded`: the server timed out or
    failed with 5xx, so a lighter request (a smaller page) may succeed where this one did not.
    """

    def __init__(self, where: str, cause: str, *, transient: bool = False, overloaded: bool = False) -> None:
        super().__init__(f"{where}: {cause}")
        self.where = where
        self.cause = cause
        self.transient = transient
        self.overloaded = overloaded


class RegistryError(CatalogError):
    """The portal registry, or a portal id given by the user, is invalid."""


class LakeError(CatalogError):
    """The lake is missing, unreadable, or holds something unexpected."""
