"""A static HTML coverage report of the lake: an overview, one page per portal, Vietnam by province (a
tile-grid map of the 34 current units), and a downloads page.

Everything comes from the views (`sql/`), so the report shows exactly what `catalog sql` answers.
Charts are drawn with matplotlib as inline SVG, so the pages work offline, from a file:// URL, with no
script; Jinja2 escapes every value a portal sent. The downloads page lists the current snapshots first
(`catalog/snapshots.py`: the catalogue as it stands, for all portals and for each; rows, size, schema
and sha256 from their manifests), then every harvest's files with rows, size and schema, linked
relative to the report so the report folder can be served together with the lake.
"""

from __future__ import annotations

import contextlib
import io
import os
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import matplotlib as mpl
import matplotlib.colors as mcolors
import pyarrow.parquet as pq
from jinja2 import Environment, PackageLoader, select_autoescape

from catalog import __version__
from catalog.lake import Lake, location_keys
from catalog.snapshots import MANIFEST, current_manifests
from catalog.views import DATABASE_FILE, LAKE_TABLES, connect, named_query

mpl.use("Agg")
mpl.rcParams.update({"svg.fonttype": "none", "font.size": 9, "axes.spines.top": False, "axes.spines.right": False})
import matplotlib.pyplot as plt  # noqa: E402 - after choosing the headless backend

TOP_N = 15
RATINGS = ("excellent", "good", "sufficient", "bad")
RATING_COLOURS = ("#1a9850", "#91cf60", "#fee08b", "#d73027")
BAR_COLOUR = "#3b6ea5"
CHART_WIDTH = 7.5
LABEL_SHARE = 0.36
LABEL_CHARACTERS = 30


@dataclass(frozen=True)
class ParquetFile:
    table: str
    portal_id: str | None
    harvest_id: str | None
    href: str
    size_bytes: int
    rows: int
    schema: list[tuple[str, str]]


@dataclass(frozen=True)
class SnapshotLink:
    """A current snapshot as the downloads page offers it: its manifest, and where each file is."""

    manifest: dict[str, Any]
    hrefs: dict[str, str]


@dataclass(frozen=True)
class Report:
    out: Path
    pages: list[Path]
    portals: int
    datasets: int


def _rows(connection: Any, name: str, *parameters: object) -> list[dict[str, Any]]:
    """The rows of the named query (`sql/queries/report/<name>.sql`), as dicts."""
    cursor = connection.execute(named_query(f"report/{name}"), list(parameters))
    columns = [column[0] for column in cursor.description]
    return [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]


def _svg(figure: Any, *, tight: bool = True) -> str:
    """The figure as an inline SVG element; `tight` crops it to what is drawn (its size then varies)."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight" if tight else None)
    plt.close(figure)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _bar_figure(bars: int, *, legend: bool = False) -> tuple[Any, Any]:
    """A figure for horizontal bars: every one CHART_WIDTH wide with the same room for labels, so their
    text shows at one size on the page however long a chart's labels are (publisher names are long)."""
    top, bottom = (0.5 if legend else 0.15), 0.55  # inches: a legend above; ticks and axis label below
    height = 0.36 * bars + top + bottom
    figure, axes = plt.subplots(figsize=(CHART_WIDTH, height))
    figure.subplots_adjust(left=LABEL_SHARE, right=0.92, top=1 - top / height, bottom=bottom / height)
    return figure, axes


def bar_chart(labels: Sequence[str], values: Sequence[float], xlabel: str, *, percent: bool = False) -> str:
    """Horizontal bars, largest first, as an SVG element."""
    figure, axes = _bar_figure(len(labels))
    positions = range(len(labels))
    axes.barh(list(positions), list(values), color=BAR_COLOUR)
    axes.set_yticks(list(positions), [_label(label) for label in labels])
    axes.invert_yaxis()
    axes.set_xlabel(xlabel)
    if percent:
        axes.set_xlim(0, 100)
    for position, value in zip(positions, values, strict=True):
        axes.text(value, position, f" {value:.0f}{'%' if percent else ''}", va="center")
    return _svg(figure, tight=False)


def stacked_share_chart(
    rows: list[dict[str, Any]], label_key: str, parts: Sequence[tuple[str, str, str]], xlabel: str
) -> str:
    """Stacked bars of shares, one bar per row: `parts` are (key, legend label, colour), each row's parts
    adding up to its whole."""
    labels = [row[label_key] for row in rows]
    figure, axes = _bar_figure(len(rows), legend=True)
    left = [0.0] * len(rows)
    totals = [sum(row[key] or 0 for key, _, _ in parts) for row in rows]
    for key, label, colour in parts:
        shares = [100 * (row[key] or 0) / total if total else 0 for row, total in zip(rows, totals, strict=True)]
        axes.barh(range(len(rows)), shares, left=left, color=colour, label=label)
        left = [a + b for a, b in zip(left, shares, strict=True)]
    axes.set_yticks(range(len(rows)), [_label(label) for label in labels])
    axes.invert_yaxis()
    axes.set_xlim(0, 100)
    axes.set_xlabel(xlabel)
    axes.legend(ncols=len(parts), loc="lower center", bbox_to_anchor=(0.5, 1.0), frameon=False)
    return _svg(figure, tight=False)


def ratings_chart(rows: list[dict[str, Any]], label_key: str) -> str:
    """Stacked bars of the quality ratings' shares, one bar per row."""
    parts = [(rating, rating, colour) for rating, colour in zip(RATINGS, RATING_COLOURS, strict=True)]
    return stacked_share_chart(rows, label_key, parts, "% of datasets by metadata quality rating")


LINK_PARTS = (
    ("answering", "answering", "#1a9850"),
    ("broken", "broken", "#d73027"),
    ("not_known", "not known (throttled, blocked)", "#fee08b"),
    ("unchecked", "not checked yet", "#d9dde2"),
)


def link_health_chart(rows: list[dict[str, Any]], label_key: str) -> str:
    """Each row's links as shares: answering, broken, not known, not checked yet."""
    shaped = [
        row
        | {"answering": row["checked"] - row["broken"] - row["not_known"], "unchecked": row["links"] - row["checked"]}
        for row in rows
    ]
    return stacked_share_chart(shaped, label_key, LINK_PARTS, "% of distinct links by their last check")


HEAT_MAP = "Blues"
CELL_FONT_SIZE = mpl.rcParams["font.size"]


def heat_scale(largest: int) -> mcolors.Normalize:
    """Dataset counts to colours, logarithmic up to the largest count: portals hold from one dataset to
    thousands in a category, and every count must keep its own shade (62 is not 94)."""
    return mcolors.LogNorm(vmin=1, vmax=max(largest, 2))


def readable_on(background: tuple[float, ...]) -> str:
    """Black or white text, whichever reads better on `background` (its relative luminance)."""
    red, green, blue = background[:3]
    return "black" if 0.2126 * red + 0.7152 * green + 0.0722 * blue > 0.5 else "white"


def theme_matrix_chart(rows: list[dict[str, Any]]) -> str:
    """Portal x category heat map of dataset counts, with its colour scale (0: an empty cell)."""
    portals = list(dict.fromkeys(row["portal_id"] for row in rows))
    categories = list(dict.fromkeys(row["category"] for row in rows))
    counts = {(row["portal_id"], row["category"]): row["datasets"] for row in rows}
    matrix = [[counts[(p, c)] for c in categories] for p in portals]
    scale = heat_scale(max((value for row in matrix for value in row), default=1))
    colours = plt.get_cmap(HEAT_MAP)
    figure, axes = plt.subplots(figsize=(max(6, 0.5 * len(categories) + 3), 0.45 * len(portals) + 2.2))
    masked = [[value if value else float("nan") for value in row] for row in matrix]
    image = axes.imshow(masked, cmap=colours, norm=scale, aspect="auto")
    axes.set_xticks(range(len(categories)), categories, rotation=60, ha="right")
    axes.set_yticks(range(len(portals)), portals)
    for y, row in enumerate(matrix):
        for x, value in enumerate(row):
            if value:
                colour = readable_on(colours(scale(value)))
                axes.text(x, y, str(value), ha="center", va="center", fontsize=CELL_FONT_SIZE, color=colour)
    axes.spines[:].set_visible(False)
    figure.colorbar(image, ax=axes, label="datasets (log scale; empty: none)", shrink=0.8)
    return _svg(figure)


EMPTY_TILE = "#e9ecef"
TILE_WIDTH, TILE_HEIGHT = 1.1, 0.5  # inches: room for the longest unit name at the page's text size


def tile_map_chart(units: list[dict[str, Any]], value_key: str, legend: str, *, share: bool = False) -> str:
    """A tile-grid map: one square per unit at its (`tile_row`, `tile_col`), roughly where it lies, coloured
    by `value_key` (a count on a log scale, or a share from 0 to 1), named and valued in the cell, with a
    colour legend. Grey: nothing (no datasets, or no share to give). Needs no boundary file."""
    rows = 1 + max(unit["tile_row"] for unit in units)
    columns = 1 + max(unit["tile_col"] for unit in units)
    values = [unit[value_key] for unit in units]
    scale = mcolors.Normalize(0, 1) if share else heat_scale(max((v for v in values if v), default=1))
    colours = plt.get_cmap(HEAT_MAP)
    figure, axes = plt.subplots(figsize=(TILE_WIDTH * columns, TILE_HEIGHT * rows + 0.9))
    for unit, value in zip(units, values, strict=True):
        empty = value is None or (not share and value == 0)
        fill = EMPTY_TILE if empty else colours(scale(value))
        x, y = unit["tile_col"], unit["tile_row"]
        axes.add_patch(mpl.patches.Rectangle((x, y), 1, 1, facecolor=fill, edgecolor="white", linewidth=2))
        shown = "–" if value is None else f"{100 * value:.0f}%" if share else str(value)
        colour = "black" if empty else readable_on(fill)
        axes.text(x + 0.5, y + 0.33, unit["name"], ha="center", va="center", color=colour)
        axes.text(x + 0.5, y + 0.7, shown, ha="center", va="center", weight="bold", color=colour)
    axes.set_xlim(0, columns)
    axes.set_ylim(rows, 0)
    axes.axis("off")
    mappable = mpl.cm.ScalarMappable(norm=scale, cmap=colours)
    bar = figure.colorbar(mappable, ax=axes, orientation="horizontal", fraction=0.03, pad=0.01, label=legend)
    if share:
        bar.ax.xaxis.set_major_formatter(mpl.ticker.PercentFormatter(xmax=1))
    else:  # counts as counts (1, 2, 5, 10, ...), not powers of ten
        bar.ax.xaxis.set_major_locator(mpl.ticker.LogLocator(subs=(1, 2, 5)))
        bar.ax.xaxis.set_major_formatter(mpl.ticker.StrMethodFormatter("{x:.0f}"))
        bar.ax.xaxis.set_minor_formatter(mpl.ticker.NullFormatter())
    return _svg(figure)


def _href(lake: Lake, location: str, out: Path) -> str:
    """A lake file as the report links it: relative to the report folder, or by its s3:// URI."""
    return f"s3://{location}" if lake.remote else Path(os.path.relpath(location, out)).as_posix()


def snapshot_links(lake: Lake, out: Path) -> list[SnapshotLink]:
    """The current snapshots (`all` first) with a link to each of their files at its stable path."""
    links = []
    for manifest in current_manifests(lake):
        names = [file["file"] for table in manifest["tables"] for file in table["files"].values()]
        names += [MANIFEST, *([manifest["database"]["file"]] if "database" in manifest else [])]
        hrefs = {name: _href(lake, lake.current_file(manifest["snapshot"], name), out) for name in names}
        links.append(SnapshotLink(manifest, hrefs))
    return links


def parquet_files(lake: Lake, out: Path) -> list[ParquetFile]:
    """Every published Parquet file of the lake (each harvest's, the run records, the checks), with its
    size, rows and schema, linked relative to `out` (or by its s3:// URI on object storage)."""
    files = []
    inventory = lake.inventory()
    for table in LAKE_TABLES:
        for location in inventory.files.get(table, []):
            metadata = pq.read_metadata(location, filesystem=lake.filesystem)
            path = Path(location)
            keys = location_keys(location)
            portal_id, harvest_id = keys.get("portal_id"), keys.get("harvest_id")
            schema = [(field.name, str(field.type)) for field in metadata.schema.to_arrow_schema()]
            size = lake.filesystem.size(location) if lake.remote else path.stat().st_size
            files.append(
                ParquetFile(
                    table=table,
                    portal_id=portal_id,
                    harvest_id=harvest_id or path.stem,
                    href=_href(lake, location, out),
                    size_bytes=size,
                    rows=metadata.num_rows,
                    schema=schema,
                )
            )
    return files


def write_report(lake: Lake, out: Path | None = None, connection: duckdb.DuckDBPyConnection | None = None) -> Report:
    """Write the report to `out` (default `<lake>/report`) and return what was written. Every page is read
    on one connection with the views: `connection` when given (a caller asking more of it), else its own."""
    out = (out or lake.root / "report").resolve()
    (out / "portals").mkdir(parents=True, exist_ok=True)
    environment = Environment(loader=PackageLoader("catalog", "templates"), autoescape=select_autoescape())
    environment.filters["percent"] = lambda value: "–" if value is None else f"{100 * value:.0f}%"
    environment.filters["yesno"] = lambda value: "–" if value is None else "yes" if value else "no"
    environment.filters["bytes"] = _human_bytes
    generated = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    common: dict[str, Any] = {"generated": generated, "version": __version__}
    pages = []
    with contextlib.ExitStack() as stack:
        if connection is None:
            connection = stack.enter_context(contextlib.closing(connect(lake)))
        common["max_points"] = connection.execute(named_query("report/max_points")).fetchone()[0]
        portals = _rows(connection, "portals")
        quality = {row["portal_id"]: row for row in _rows(connection, "quality_by_portal")}
        freshness = _rows(connection, "freshness_by_portal")
        matrix = _rows(connection, "theme_matrix")
        overview = {
            "portals": portals,
            "quality": quality,
            "freshness": freshness,
            "charts": _overview_charts(portals, list(quality.values()), matrix) if portals else {},
            **common,
        }
        pages.append(_render(environment, "index.html", out / "index.html", overview))
        for portal in portals:
            context = _portal_context(connection, portal["portal_id"]) | {"portal": portal, **common}
            context["quality"] = quality.get(portal["portal_id"])
            pages.append(_render(environment, "portal.html", out / "portals" / f"{portal['portal_id']}.html", context))
        pages.append(_render(environment, "vietnam.html", out / "vietnam.html", _vietnam_context(connection) | common))
        pages.append(_render(environment, "links.html", out / "links.html", _links_context(connection) | common))
    files = parquet_files(lake, out)
    database = lake.root / DATABASE_FILE
    downloads = {
        "snapshots": snapshot_links(lake, out),
        "files": files,
        "database": Path(os.path.relpath(database, out)).as_posix() if database.is_file() else None,
        "database_size": database.stat().st_size if database.is_file() else None,
        **common,
    }
    pages.append(_render(environment, "downloads.html", out / "downloads.html", downloads))
    return Report(out, pages, len(portals), sum(portal["datasets"] for portal in portals))


def _overview_charts(portals: list[dict], quality: list[dict], matrix: list[dict]) -> dict[str, str]:
    by_size = sorted(portals, key=lambda row: -row["datasets"])
    return {
        "datasets": bar_chart([p["portal_id"] for p in by_size], [p["datasets"] for p in by_size], "datasets"),
        "open": bar_chart(
            [p["portal_id"] for p in by_size],
            [100 * p["share_open_licensed"] for p in by_size],
            "% open-licensed",
            percent=True,
        ),
        "machine_readable": bar_chart(
            [p["portal_id"] for p in by_size],
            [100 * p["share_machine_readable"] for p in by_size],
            "% with a machine-readable distribution",
            percent=True,
        ),
        "quality": ratings_chart(sorted(quality, key=lambda row: row["portal_id"]), "portal_id"),
        "themes": theme_matrix_chart(matrix),
    }


def _portal_context(connection: Any, portal_id: str) -> dict[str, Any]:
    publishers = _rows(connection, "portal_publishers", portal_id, TOP_N)
    formats = _rows(connection, "portal_formats", portal_id)
    licences = _rows(connection, "portal_licences", portal_id)
    themes = _rows(connection, "portal_themes", portal_id)
    freshness = _rows(connection, "portal_freshness", portal_id, TOP_N)
    ratings = _rows(connection, "portal_ratings", portal_id, TOP_N)
    links = _rows(connection, "portal_links", portal_id)
    charts = {}
    if publishers:
        names = [row["publisher_name"] for row in publishers]
        charts["publishers"] = bar_chart(names, [row["datasets"] for row in publishers], "datasets")
        charts["quality"] = ratings_chart(ratings, "publisher_name")
    if formats:
        top = formats[:TOP_N]
        charts["formats"] = bar_chart(
            [row["format"] for row in top], [row["distributions"] for row in top], "distributions"
        )
    if licences:
        charts["licences"] = bar_chart(
            [row["license"] for row in licences], [row["datasets"] for row in licences], "datasets"
        )
    covered = [row for row in themes if row["covered"]]
    if covered:
        charts["themes"] = bar_chart(
            [row["category"] for row in covered], [row["datasets"] for row in covered], "datasets"
        )
    return {
        "publishers": publishers,
        "formats": formats,
        "licences": licences,
        "themes": themes,
        "missing_themes": [row["category"] for row in themes if not row["covered"]],
        "freshness": freshness,
        "links": links[0] if links else None,
        "charts": charts,
    }


def _vietnam_context(connection: Any) -> dict[str, Any]:
    """The Vietnam page: the 34 current units on a tile map and in a table, the catalogues with no
    province, how publishers were placed, and the ASEAN Smart Cities Network's pilot cities."""
    units = _rows(connection, "vn_units")
    placement = _rows(connection, "vn_placement")
    unplaced = _rows(connection, "vn_unplaced", TOP_N)
    return {
        "units": units,
        "maps": {
            "datasets": tile_map_chart(units, "datasets", "datasets (log scale; grey: none)"),
            "open": tile_map_chart(units, "share_open_licensed", "share open-licensed (grey: no datasets)", share=True),
        },
        "national": _rows(connection, "vn_national_portals"),
        "placement": placement,
        "unplaced": unplaced,
        "ascn": _rows(connection, "ascn_pilot_cities"),
    }


def _links_context(connection: Any) -> dict[str, Any]:
    """The links page: dead links per portal and per publisher, and files not served as declared."""
    portals = _rows(connection, "links_by_portal")
    publishers = _rows(connection, "links_by_publisher", TOP_N)
    charts = {}
    if any(row["checked"] for row in portals):
        charts["portals"] = link_health_chart(portals, "portal_id")
    if publishers:
        labels = [f"{row['publisher_name'] or '(none)'} ({row['portal_id']})" for row in publishers]
        charts["publishers"] = bar_chart(labels, [row["broken"] for row in publishers], "broken links")
    return {
        "portals": portals,
        "publishers": publishers,
        "charts": charts,
        "mismatches": _rows(connection, "format_mismatches"),
        "broken": _rows(connection, "broken_links", TOP_N * 4),
    }


def _render(environment: Environment, template: str, path: Path, context: dict[str, Any]) -> Path:
    path.write_text(environment.get_template(template).render(**context), encoding="utf-8")
    return path


def _label(label: str | None) -> str:
    """A chart label: `(none)` for a missing value; a long one on two lines, cut with an ellipsis."""
    if label is None:
        return "(none)"
    lines = textwrap.wrap(label, LABEL_CHARACTERS) or [""]
    if len(lines) > 2:
        lines = [lines[0], lines[1][: LABEL_CHARACTERS - 1] + "…"]
    return "\n".join(lines)


def _human_bytes(size: int | None) -> str:
    if size is None:
        return "–"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"
