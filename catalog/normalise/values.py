"""Coercing untrusted values: every function returns a clean value or None plus a warning, never raises.

Portals send anything: numbers where text belongs, dicts where a string belongs, trailing spaces,
dates in half a dozen shapes. These helpers are shared by every normaliser so a field is cleaned the
same way whichever software it came from.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import unquote

import ijson
import orjson

_DATE_LIKE = re.compile(r"\d{4}-?\d{2}-?\d{2}")
_SURROGATE = re.compile("[\ud800-\udfff]")
INT64 = range(-(2**63), 2**63)
_FRACTION = re.compile(r"(\.\d{6})\d+")
_RFC_2822 = re.compile(r"(?:[A-Za-z]{3}, )?\d{1,2} [A-Za-z]{3} \d{4} \d{2}:\d{2}")
_SLASHED = re.compile(r"\b(\d{1,2})/(\d{1,2})/(\d{4})\b(?:\s*-?\s*(\d{1,2}):(\d{2}))?")
MAX_WARNING_VALUE = 60


class Warnings(list[str]):
    """Warnings about one record, each naming the record, the field and the offending value."""

    # One per distribution: made in 0.32 µs without a __dict__ and without calling `list.__init__`, not 0.59.
    __slots__ = ("_into", "prefix", "subject")

    def __init__(self, subject: str, prefix: str = "", into: list[str] | None = None) -> None:
        # no `super().__init__()`: `list.__new__` has made the empty list
        self.subject = subject
        self.prefix = prefix
        self._into = into  # None: into this list (a reference to itself would make a cycle for the collector)

    @property
    def _collected_in(self) -> list[str]:
        return self if self._into is None else self._into

    def add(self, field: str, value: Any, problem: str) -> None:
        shown = repr(value)
        if len(shown) > MAX_WARNING_VALUE:
            shown = shown[: MAX_WARNING_VALUE - 3] + "..."
        self._collected_in.append(f"{self.subject}: {self.prefix}{field} {shown} {problem}")

    def scoped(self, prefix: str) -> Warnings:
        """Warnings about a part of the record (`resources[2].`), collected with the record's own."""
        return Warnings(self.subject, self.prefix + prefix, into=self._collected_in)


def valid_utf8(value: str) -> str:
    """`value`, with any unpaired surrogate replaced by U+FFFD: Parquet strings must be valid UTF-8."""
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return _SURROGATE.sub("\ufffd", value)
    return value


NEVER_OBJECTS = frozenset({str, int, float, bool, list, type(None)})
"""Exact types of parsed JSON values that cannot be a Mapping."""


def is_object(value: Any) -> bool:
    """Whether a value is a JSON object. `isinstance(value, Mapping)` alone runs the ABC's check in Python
    (0.11 µs), a dozen times a dataset: parsed JSON's own types are told by their exact type first."""
    kind = type(value)
    return kind is dict or (kind not in NEVER_OBJECTS and isinstance(value, Mapping))


def text(value: Any, field: str, warnings: Warnings) -> str | None:
    """A stripped string, or None for missing/empty; numbers and booleans become their text."""
    if type(value) is str:  # the common case, on the hot path: a plain string, most often ASCII
        stripped = value.strip()
        return (stripped if stripped.isascii() else valid_utf8(stripped)) or None
    if value is None:
        return None
    if isinstance(value, str):
        return valid_utf8(value.strip()) or None
    if isinstance(value, bool | int | float):
        return str(value)
    warnings.add(field, value, "is not text; dropped")
    return None


def integer(value: Any, field: str, warnings: Warnings) -> int | None:
    """An integer from a number or numeric text; None (with a warning) for anything else."""
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        warnings.add(field, value, "is not a number; dropped")
        return None
    number = None
    if isinstance(value, int):
        number = value
    elif isinstance(value, float) and value.is_integer():
        number = int(value)
    elif isinstance(value, str):
        digits = value.strip().replace(",", "")
        with contextlib.suppress(ValueError):
            number = int(digits.removesuffix(".0"))  # xsd:decimal sizes come as "43008.0"
    if number is None:
        warnings.add(field, value, "is not a whole number; dropped")
    elif number not in INT64:
        warnings.add(field, value, "is out of range; dropped")
        number = None
    return number


def timestamp(value: Any, field: str, warnings: Warnings) -> datetime | None:
    """A UTC timestamp from ISO 8601 text (or RFC 2822, or an unambiguous day/month/year).

    Naive timestamps are UTC (CKAN stores them so); a bare date is midnight UTC; more than six
    fractional digits are truncated. Anything that is not a calendar date (a bare year, an ISO
    repeating interval like `R/P1D`, `10/12/2019` whose day and month could be either) is not a
    timestamp: None plus a warning, never a guess; the original text stays in the raw record.
    """
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        warnings.add(field, value, "is not a date; dropped")
        return None
    try:
        parsed = datetime.fromisoformat(value)  # the common case (CKAN), without the regexes below
    except ValueError:
        parsed, problem = _other_date_shapes(value.strip())
        if parsed is None:
            warnings.add(field, value, problem)
            return None
    if parsed.tzinfo is None:  # combined, not `replace(tzinfo=UTC)`: 0.11 µs against 0.45, ten times a dataset
        return datetime.combine(parsed.date(), parsed.time(), UTC)
    return parsed.astimezone(UTC)


def _other_date_shapes(value: str) -> tuple[datetime | None, str]:
    """ISO 8601 variants `fromisoformat` refuses, RFC 2822 (HTTP, RSS) and day/month/year with a time.

    A slashed date is read only when day and month cannot be confused (one of them above 12): Drupal
    renders dates in the site's locale, and `10/12/2019` is December in France, October in the US.
    """
    candidate = _FRACTION.sub(r"\1", value).replace("z", "Z")
    if _DATE_LIKE.match(candidate):
        with contextlib.suppress(ValueError):
            return datetime.fromisoformat(candidate), ""
        return None, "is not an ISO 8601 date; dropped"
    if _RFC_2822.match(value):
        with contextlib.suppress(TypeError, ValueError, IndexError):
            return parsedate_to_datetime(value), ""
    slashed = _SLASHED.search(value)
    if slashed:
        first, second, year, hour, minute = (int(part) if part else 0 for part in slashed.groups())
        if (first > 12) == (second > 12):
            return None, "has day and month in an ambiguous order; dropped"
        day, month = (first, second) if first > 12 else (second, first)
        with contextlib.suppress(ValueError):
            return datetime(year, month, day, hour, minute), ""
    return None, "is not a date; dropped"


class RecordTooDeepError(ValueError):
    """A JSON value nested too deeply to store or normalise safely: its record is dropped, with a warning."""

    def warning(self, record_id: str | None) -> str:
        """The run's warning about the record dropped (whichever process found it too deep)."""
        return f"dataset {record_id or '?'}: {self}; dropped"


MAX_JSON_DEPTH = 512
"""Past this depth a parsed value is cut (and its record dropped): real records nest a dozen levels."""
TOO_DEEP = object()
"""Stands for a subtree cut at MAX_JSON_DEPTH; `json_text` refuses to write it."""


def _json_default(value: Any) -> str:
    if value is TOO_DEEP:
        raise RecordTooDeepError(f"nested more than {MAX_JSON_DEPTH} levels deep")
    return str(value)


def json_text(value: Any) -> str:
    """Any JSON value as compact JSON text (non-string extras keep their structure this way).

    orjson is fast but refuses nesting deeper than 254 levels; the standard library takes those, up
    to its recursion limit. Deeper still raises `RecordTooDeepError`: the caller drops the record.
    """
    return json_bytes(value).decode()


def json_bytes(value: Any) -> bytes:
    """`json_text(value)` encoded as UTF-8: how rows hold a record's `raw`. orjson writes bytes; decoding
    them only for the content hash and Arrow to encode them again cost 7 µs a dataset, 5 % of the
    worker's time (Arrow takes the bytes into its string column, checking that they are UTF-8).

    Parsed JSON has text keys only. orjson's option for other keys (a graph's terms, numbers) is asked
    for when the plain call refuses them: on every record it cost 1.4 µs of the 5.2 a CKAN record takes,
    for the same bytes."""
    try:
        return orjson.dumps(value)
    except orjson.JSONEncodeError:
        pass
    try:
        return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
    except orjson.JSONEncodeError:
        return _standard_json_text(value).encode()


def _standard_json_text(value: Any) -> str:
    """What orjson refuses (nesting past 254 levels, lone surrogates, integers past 64 bits), as the
    standard library writes it."""
    try:
        return json.dumps(value, separators=(",", ":"), default=_json_default)
    except RecursionError:
        raise RecordTooDeepError("nested too deep to serialise") from None


def loads_lenient(body: bytes | memoryview | str) -> tuple[Any, bool]:
    """Parse JSON; returns (value, repaired).

    orjson first. If it refuses the text for invalid UTF-8, lone surrogate escapes or nesting deeper
    than it allows, the standard library parses it instead and any unpaired surrogate becomes
    U+FFFD, so one bad string does not lose a whole page. Nesting too deep for the standard library
    is parsed iteratively, with subtrees below MAX_JSON_DEPTH cut: the records holding them are then
    dropped by `json_text`, the rest of the page kept. Raises ValueError when it is not JSON.
    """
    try:
        return orjson.loads(body), False
    except orjson.JSONDecodeError as exc:
        first_error = exc
    text = body if isinstance(body, str) else bytes(body).decode("utf-8", errors="replace")
    try:
        return _scrub_surrogates(json.loads(text)), True
    except RecursionError:
        pass
    except ValueError:
        raise first_error from None
    try:
        events = ijson.basic_parse(text.encode("utf-8", errors="replace"), use_float=True)
        return next(json_from_events(events), None), True
    except ijson.JSONError:
        raise first_error from None


Cut = Callable[[dict[str, Any], Any, Any, int], bool]
"""(a completed object, its parent container, the key it sits under, its depth) -> cut it out?"""


def json_from_events(events: Iterator[tuple[str, Any]], cut: Cut | None = None) -> Iterator[Any]:
    """JSON values built from ijson's flat `basic_parse` events, without recursion.

    With `cut`, each completed object it selects is yielded and removed from the document at once, so a
    stream of many records never holds them all (a data.json); the rest of the document is then
    dropped. Without it, the whole value is yielded at the end. Containers nested deeper than
    MAX_JSON_DEPTH become `TOO_DEEP`, which `json_text` refuses to write.
    """
    root: list[Any] = []
    stack: list[tuple[Any, Any]] = []  # (open container, the key it sits under: a map key, or its list's key)
    keys: list[Any] = []  # the pending key of each open container (maps only)
    skipping = 0

    def put(value: Any) -> None:
        if not stack:
            root.append(value)
        elif isinstance(top := stack[-1][0], list):
            top.append(value)
        else:
            top[keys[-1]] = value

    for event, value in events:
        if skipping:
            skipping += event in ("start_map", "start_array")
            skipping -= event in ("end_map", "end_array")
            if not skipping:
                put(TOO_DEEP)
        elif event in ("start_map", "start_array"):
            if len(stack) >= MAX_JSON_DEPTH:
                skipping = 1
                continue
            container: Any = {} if event == "start_map" else []
            under = (keys[-1] if isinstance(stack[-1][0], dict) else stack[-1][1]) if stack else None
            put(container)
            stack.append((container, under))
            keys.append(None)
        elif event in ("end_map", "end_array"):
            container, under = stack.pop()
            keys.pop()
            parent = stack[-1][0] if stack else None
            if cut is not None and event == "end_map" and cut(container, parent, under, len(stack)):
                if isinstance(parent, list):
                    parent.pop()
                elif isinstance(parent, dict):
                    del parent[keys[-1]]
                yield container
        elif event == "map_key":
            keys[-1] = valid_utf8(value)
        else:
            put(valid_utf8(value) if isinstance(value, str) else value)
    if cut is None and root:
        yield root[0]


def _scrub_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return valid_utf8(value)
    if isinstance(value, list):
        return [_scrub_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_scrub_surrogates(key): _scrub_surrogates(item) for key, item in value.items()}
    return value


def clean_email(value: str | None) -> str | None:
    """An address without its `mailto:` (any case), percent-escapes or whitespace: GeoNetwork writes
    `mailto: someone@example.org`, ckanext-dcat `mailto:%20...`."""
    if not value:
        return None
    address = re.sub(r"^\s*mailto:", "", unquote(value), flags=re.IGNORECASE)
    return "".join(address.split()) or None


def unique(values: list[str | None]) -> list[str]:
    """Non-empty values, first occurrence kept, order kept."""
    return list(dict.fromkeys(filter(None, values)))
