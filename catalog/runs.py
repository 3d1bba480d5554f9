"""One harvest's record in `harvest_runs`: the dataclass a harvest keeps up to date as it goes, and the
table's Arrow schema derived from it, so the two cannot drift apart."""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pyarrow as pa

MAX_WARNINGS_KEPT = 1000
KEY_COLUMNS = frozenset({"portal_id", "harvest_id"})
ARROW_TYPES: dict[object, pa.DataType] = {
    str: pa.string(),
    int: pa.int64(),
    datetime: pa.timestamp("us", tz="UTC"),
    list[str]: pa.list_(pa.string()),
}


@dataclass
class HarvestRun:
    """What a run did: one row of `harvest_runs`, from its start ('running') to its end."""

    portal_id: str
    harvest_id: str
    base_url: str
    software: str
    status: str = "running"
    mode: str = "full"
    since: datetime | None = None
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    finished_at: datetime | None = None
    datasets: int = 0
    distributions: int = 0
    publishers: int = 0
    added: int = 0
    modified: int = 0
    deleted: int = 0
    listed: int | None = None
    source_count: int | None = None
    duplicates_dropped: int = 0
    requests: int = 0
    bytes_received: int = 0
    warning_count: int = 0
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    def warn(self, messages: Iterable[str]) -> None:
        """Count every warning, keep the first MAX_WARNINGS_KEPT (a broken portal can emit millions)."""
        for message in messages:
            self.warning_count += 1
            if len(self.warnings) < MAX_WARNINGS_KEPT:
                self.warnings.append(message)

    @property
    def duration_s(self) -> float:
        end = self.finished_at or datetime.now(UTC)
        return (end - self.started_at).total_seconds()


def arrow_schema(record: type) -> pa.Schema:
    """The Arrow schema of a flat dataclass: each field's type read from its annotation (`X | None` is
    a nullable X); the key columns may never be null."""
    hints = typing.get_type_hints(record)
    fields = []
    for item in dataclasses.fields(record):
        kind = hints[item.name]
        if isinstance(kind, types.UnionType):
            kind = next(arm for arm in typing.get_args(kind) if arm is not type(None))
        fields.append(pa.field(item.name, ARROW_TYPES[kind], nullable=item.name not in KEY_COLUMNS))
    return pa.schema(fields)


HARVEST_RUNS = arrow_schema(HarvestRun)
