"""`catalog report`: the pages, the downloads listing, and the overview rendered in real headless Chromium."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import matplotlib.pyplot as plt
import pyarrow.parquet as pq
import pytest
from playwright.sync_api import Page, sync_playwright

from catalog.cli import main
from catalog.lake import Lake
from catalog.report import (
    CELL_FONT_SIZE,
    EMPTY_TILE,
    HEAT_MAP,
    bar_chart,
    heat_scale,
    readable_on,
    theme_matrix_chart,
    tile_map_chart,
    write_report,
)
from catalog.snapshots import refresh_snapshots
from catalog.views import write_database
from tests.conftest import REPO, rows

ARTIFACTS = Path(os.environ.get("CATALOG_ARTIFACTS", REPO / ".artifacts"))
CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def report_lake(fixture_lake, tmp_path_factory) -> Lake:
    """A copy of the fixture lake with its database file and current snapshots (the session's stays as harvested)."""
    lake = Lake(tmp_path_factory.mktemp("report-lake") / "lake")
    shutil.copytree(fixture_lake.root, lake.root)
    write_database(lake, lake.root / "catalog.duckdb")
    refresh_snapshots(lake)
    return lake


@pytest.fixture(scope="module")
def report(report_lake, tmp_path_factory):
    return write_report(report_lake, tmp_path_factory.mktemp("report"))


def test_one_page_per_portal_plus_overview_and_downloads(report, fixture_lake) -> None:
    names = sorted(path.relative_to(report.out).as_posix() for path in report.pages)
    assert "index.html" in names and "downloads.html" in names
    portals = ["gb-birmingham", "gb-data-gov-uk", "us-cfpb", "us-opm", "us-fda", "us-gsa", "us-philadelphia"]
    portals += ["es-madrid", "fr-datara"]
    assert sorted(name for name in names if name.startswith("portals/")) == [
        f"portals/{portal}.html" for portal in sorted(portals)
    ]
    assert (report.portals, report.datasets) == (9, 10 + 5 + 11 + 134 + 86 + 339 + 402 + 1 + 1)
    index = (report.out / "index.html").read_text()
    assert index.count("<svg") == 5  # datasets, open licences, machine-readable, quality, theme matrix
    birmingham = (report.out / "portals" / "gb-birmingham.html").read_text()
    assert "Birmingham City Council" in birmingham and "OGL-UK" in birmingham


def test_downloads_page_links_every_harvest_file_with_rows(report, report_lake) -> None:
    page = (report.out / "downloads.html").read_text()
    files = [*report_lake.root.glob("harvests/*/*/*.parquet"), *report_lake.root.glob("harvest_runs/*/*.parquet")]
    assert len(files) == 9 * 3 + 9  # datasets, distributions, publishers per harvest; one run record each
    for path in files:
        href = Path(os.path.relpath(path, report.out)).as_posix()
        assert f'href="{href}"' in page
        assert (report.out / href).resolve() == path.resolve()
    assert f'<td class="n">{pq.read_metadata(files[0]).num_rows}</td>' in page
    assert 'href="../' in page and "catalog.duckdb" in page


def test_downloads_page_offers_the_current_snapshots_first(report, report_lake) -> None:
    page = (report.out / "downloads.html").read_text()
    assert page.index('id="all"') < page.index('id="portals/es-madrid"') < page.index("Every harvest's files")
    offered = [("all", "catalog.duckdb")]
    offered += [(name, file) for name in ("all", "portals/us-fda") for file in ("datasets.parquet", "datasets.csv")]
    offered += [("portals/us-fda", "manifest.json")]
    for name, file in offered:
        href = Path(os.path.relpath(report_lake.root / "current" / name / file, report.out)).as_posix()
        assert f'href="{href}"' in page and (report.out / href).is_file()
    manifest = json.loads((report_lake.root / "current" / "all" / "manifest.json").read_text())
    datasets = manifest["tables"][0]
    assert (datasets["table"], datasets["rows"]) == ("datasets", 989)
    assert datasets["files"]["parquet"]["sha256"] in page


def test_text_from_portals_is_escaped(report) -> None:
    page = (report.out / "portals" / "gb-data-gov-uk.html").read_text()
    assert "Her Majesty&#39;s Revenue and Customs" in page  # an apostrophe from the recording, escaped


def test_cli_writes_the_report(report_lake, tmp_path, capsys) -> None:
    out = tmp_path / "site"
    assert main(["report", "--lake", str(report_lake.root), "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith(f"{out.resolve() / 'index.html'}: 9 portals, 989 datasets")


@contextmanager
def chromium_page(height: int) -> Iterator[Page]:
    """A page in Debian's Chromium through Playwright, 1280 pixels wide."""
    assert CHROMIUM, "no chromium executable: install Debian's chromium package (`make test` does)"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 1280, "height": height})
        finally:
            browser.close()


def test_overview_renders_in_headless_chromium(report) -> None:
    """Open the report in Debian's Chromium through Playwright, check the charts laid out, save a screenshot."""
    with chromium_page(900) as page:
        page.goto((report.out / "index.html").as_uri())
        assert page.title() == "Open data coverage"
        charts = page.locator("figure svg")
        assert charts.count() == 5
        for index in range(charts.count()):
            box = charts.nth(index).bounding_box()
            assert box is not None and box["width"] > 200 and box["height"] > 40
        assert page.locator("table tr").count() >= 10  # header + 9 portals
        page.screenshot(path=ARTIFACTS / "report-overview.png", full_page=True)
        page.goto((report.out / "downloads.html").as_uri())
        assert page.locator("a[href$='.parquet']").count() >= 36
        page.goto((report.out / "portals" / "us-philadelphia.html").as_uri())
        page.screenshot(path=ARTIFACTS / "report-us-philadelphia.png", full_page=True)
    assert (ARTIFACTS / "report-overview.png").stat().st_size > 10_000


HEAT_ROWS = [
    {"portal_id": portal, "category": category, "datasets": count}
    for portal, counts in {"vn-open-data": [62, 94, 0, 1200], "gb-birmingham": [1, 5, 30, 0]}.items()
    for category, count in zip(["budget", "transport", "health", "maps"], counts, strict=True)
]


def test_the_heat_map_gives_each_count_its_own_shade_and_a_legend() -> None:
    scale, colours = heat_scale(1200), plt.get_cmap(HEAT_MAP)
    shades = [colours(scale(count)) for count in (1, 5, 30, 62, 94, 1200)]
    assert len(set(shades)) == 6  # 62 and 94 no longer share the darkest blue
    assert readable_on(colours(scale(1200))) == "white" and readable_on(colours(scale(1))) == "black"
    svg = theme_matrix_chart(HEAT_ROWS)
    assert "datasets (log scale; empty: none)" in svg  # the colour legend's label
    numbers = re.findall(r'<text style="font-size: ([\d.]+)px[^>]*>(\d+)</text>', svg)
    assert sorted(int(text) for _, text in numbers) == [1, 5, 30, 62, 94, 1200]
    assert {size for size, _ in numbers} == {f"{CELL_FONT_SIZE:g}"}  # as large as the axis labels


def test_every_bar_chart_shows_its_labels_at_one_size() -> None:
    long = bar_chart(["Ủy ban nhân dân thành phố Hồ Chí Minh, Sở Thông tin và Truyền thông"], [12], "datasets")
    short = bar_chart(["XLS"], [54], "distributions")
    width = re.compile(r'<svg[^>]* width="([\d.]+)pt"')
    assert width.search(long).group(1) == width.search(short).group(1)  # so the page scales both alike
    assert "Ủy ban nhân dân thành phố Hồ" in long and "…" in long


@pytest.fixture(scope="module")
def vietnam_report(vietnam_lake, tmp_path_factory):
    return write_report(vietnam_lake, tmp_path_factory.mktemp("vietnam-report"))


def test_the_vietnam_page_maps_and_tabulates_the_34_units(vietnam_report, vietnam_lake) -> None:
    page = (vietnam_report.out / "vietnam.html").read_text(encoding="utf-8")
    table = page[page.index('id="vn-units"') : page.index("</table>", page.index('id="vn-units"'))]
    assert table.count("<tr>") == 1 + 34
    assert "Long An (vn-long-an)" in table and "Hà Giang, Tuyên Quang" in table
    expected = rows(vietnam_lake, "SELECT name, datasets FROM vn_province_coverage")
    maps = re.findall(r"<svg.*?</svg>", page, re.DOTALL)
    assert len(maps) == 2
    for name, datasets in ((row["name"], row["datasets"]) for row in expected):
        assert f">{name}</text>" in maps[0] and f">{datasets}</text>" in maps[0]
    assert "datasets (log scale; grey: none)" in maps[0] and "share open-licensed" in maps[1]
    ascn = page[page.index('id="ascn"') :]
    assert ascn.count("<tr>") == 1 + len(rows(vietnam_lake, "SELECT * FROM ascn_pilot_city_portals"))
    assert "no portal registered" in ascn and "vn-opendata-hochiminhcity" in ascn
    assert "Học viện Chính trị quốc gia Hồ Chí Minh" in page  # listed among the publishers placed nowhere


def test_a_tile_map_greys_the_units_with_nothing() -> None:
    units = [
        {"name": "Lai Châu", "tile_row": 0, "tile_col": 0, "datasets": 0},
        {"name": "Tây Ninh", "tile_row": 1, "tile_col": 1, "datasets": 97},
    ]
    svg = tile_map_chart(units, "datasets", "datasets")
    assert svg.count(f"fill: {EMPTY_TILE}") == 1 and ">Lai Châu</text>" in svg and ">97</text>" in svg


def test_the_vietnam_page_renders_in_headless_chromium(vietnam_report) -> None:
    with chromium_page(1100) as page:
        page.goto((vietnam_report.out / "index.html").as_uri())
        page.click("text=Vietnam")
        assert page.title() == "Vietnam by province: open data coverage"
        maps = page.locator("figure svg")
        assert maps.count() == 2
        table = page.locator("#vn-map-table").bounding_box()
        first_map = maps.nth(0).bounding_box()
        assert first_map["width"] > 300 and first_map["height"] > 500
        assert table["x"] > first_map["x"] + first_map["width"] - 1  # the table beside the map
        assert page.locator("#vn-units tr").count() == 35
        page.screenshot(path=ARTIFACTS / "report-vietnam.png", full_page=True)
    assert (ARTIFACTS / "report-vietnam.png").stat().st_size > 10_000


def test_a_tile_map_of_shares_reads_in_percent() -> None:
    units = [
        {"name": "Hà Nội", "tile_row": 0, "tile_col": 0, "share_open_licensed": 0.5},
        {"name": "Huế", "tile_row": 1, "tile_col": 0, "share_open_licensed": None},
    ]
    svg = tile_map_chart(units, "share_open_licensed", "share open-licensed", share=True)
    assert ">50%</text>" in svg and ">–</text>" in svg and ">100%</text>" in svg  # the cell, the empty one, the scale
