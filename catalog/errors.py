"""Errors a user sees: each says what failed and where, in one line, with no secret in it."""

from __future__ import annotations

from catalog.redaction import redact


class CatalogError(Exception):
    """Base class for errors the CLI reports as one line on stderr. The message is redacted (see
    `catalog.redaction`): it reaches logs, run records and Dagster's event log."""

    def __init__(self, message: str = "") -> None:
        super().__init__(redact(message))


class HarvestError(CatalogError):
    """A harvest could not complete. `where` names the host (or file) and `cause` the reason.

    `transient`: trying the same request again later may succeed. `overloaded`: the server timed out
    or failed with 5xx, so a lighter request (a smaller page) may succeed where this one did not.
    `status`: the HTTP status that caused it, when there was one.
    """

    def __init__(
        self, where: str, cause: str, *, transient: bool = False, overloaded: bool = False, status: int | None = None
    ) -> None:
        super().__init__(f"{where}: {cause}")
        self.where = where
        self.cause = redact(cause)
        self.transient = transient
        self.overloaded = overloaded
        self.status = status


class RegistryError(CatalogError):
    """The portal registry, or a portal id given by the user, is invalid."""


class LakeError(CatalogError):
    """The lake is missing, unreadable, or holds something unexpected."""


class SuspiciousHarvestError(CatalogError):
    """A harvest that would delete implausibly much (an empty or broken answer): nothing was published."""
