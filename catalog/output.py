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

OUTPUT_FORMATS = ("table", "csv", "json", "jsonl")
EXPORT_FORMATS = ("parquet", "csv", "jsonl")
"""The file formats `catalog export` writes tables in."""
MIN_COLUMN = 8
"""A column shrunk to fit the terminal keeps at least this many characters."""


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


def _one_line(text: str) -> str:
    return text.replace("\r", " ").replace("\n", " ")


def _clip(text: str, width: int) -> str:
    """`text` cut to `width` display columns, with an ellipsis when something was cut."""
    if _width(text) <= width:
        return text
    kept = ""
    for character in text:
        if _width(kept + character) > width - 1:
            break
        kept += character
    return kept + "…"


def _fit(widths: list[int], total: int) -> list[int]:
    """Column widths shrunk, widest first, until the table (two spaces between columns) fits `total`."""
    widths = list(widths)
    while sum(widths) + 2 * (len(widths) - 1) > total:
        widest = max(range(len(widths)), key=widths.__getitem__)
        if widths[widest] <= MIN_COLUMN:
            break
        widths[widest] -= 1
    return widths


def render(columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str, width: int | None = None) -> str:
    """Rows as text in one of OUTPUT_FORMATS. A table fits in `width` columns when given (cells cut with `…`);
    without it, and in every other format, every value is whole."""
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
        cells = [[_one_line(_cell(v)) for v in row] for row in rows]
        widths = [max([_width(c)] + [_width(row[i]) for row in cells]) for i, c in enumerate(columns)]
        if width is not None:
            widths = _fit(widths, width)
            cells = [[_clip(value, w) for value, w in zip(row, widths, strict=True)] for row in cells]
            columns = [_clip(column, w) for column, w in zip(columns, widths, strict=True)]

        def line(values: Sequence[str]) -> str:
            return "  ".join(v + " " * (w - _width(v)) for v, w in zip(values, widths, strict=True)).rstrip()

        out = [line(columns), line(["-" * w for w in widths])]
        out += [line(row) for row in cells]
        out.append(f"({len(rows)} row{'s' if len(rows) != 1 else ''})")
        return "\n".join(out) + "\n"
    raise ValueError(f"unknown format {fmt!r}: use one of {', '.join(OUTPUT_FORMATS)}")
