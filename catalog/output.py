"""Printing query results as CSV, JSON, JSON lines or an aligned table."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import orjson

FORMATS = ("table", "csv", "json", "jsonl")
MAX_CELL = 60


def _plain(value: Any) -> Any:
    """A JSON-friendly value: timestamps as ISO 8601, maps as objects, decimals as numbers."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list | dict):
        return orjson.dumps(_plain(value)).decode()
    return str(_plain(value))


def _width(text: str) -> int:
    """Display width: East Asian wide characters take two columns, combining marks none."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _clip(text: str) -> str:
    text = text.replace("\r", " ").replace("\n", " ")
    return text if len(text) <= MAX_CELL else text[: MAX_CELL - 1] + "…"


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> str:
    """Rows as text in one of FORMATS."""
    if fmt in ("json", "jsonl"):
        records = [dict(zip(columns, (_plain(v) for v in row), strict=True)) for row in rows]
        if fmt == "jsonl":
            return "".join(orjson.dumps(record).decode() + "\n" for record in records)
        return orjson.dumps(records, option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([_cell(v) for v in row] for row in rows)
        return buffer.getvalue()
    if fmt == "table":
        cells = [[_clip(_cell(v)) for v in row] for row in rows]
        widths = [max([_width(c)] + [_width(row[i]) for row in cells]) for i, c in enumerate(columns)]

        def line(values: Sequence[str]) -> str:
            return "  ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths, strict=True)).rstrip()

        out = [line(columns), line(["-" * w for w in widths])]
        out += [line(row) for row in cells]
        out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
        return "\n".join(out) + "\n"
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
