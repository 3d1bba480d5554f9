"""Vietnam's provincial units on both maps, the registry's portals on them, and the province views."""

from __future__ import annotations

import re
import shutil
import unicodedata
from dataclasses import replace

import pyarrow.parquet as pq
import pytest

from catalog import vietnam
from catalog.cli import main
from catalog.errors import RegistryError
from catalog.lake import Lake
from catalog.liveness import check_portals
from catalog.registry import Portal, load_registry
from catalog.snapshots import refresh_snapshots
from catalog.views import connect
from tests.conftest import AMBIGUOUS_PUBLISHER, VIETNAMESE_PUBLISHERS, rows

RESOLUTION_202_MERGERS = {
    # Resolution 202/2025/QH15, Article 1: each new unit and the units it was formed from
    "Tuyên Quang": {"Hà Giang", "Tuyên Quang"},
    "Lào Cai": {"Lào Cai", "Yên Bái"},
    "Thái Nguyên": {"Bắc Kạn", "Thái Nguyên"},
    "Phú Thọ": {"Vĩnh Phúc", "Hòa Bình", "Phú Thọ"},
    "Bắc Ninh": {"Bắc Giang", "Bắc Ninh"},
    "Hưng Yên": {"Hưng Yên", "Thái Bình"},
    "Hải Phòng": {"Hải Dương", "Hải Phòng"},
    "Ninh Bình": {"Hà Nam", "Nam Định", "Ninh Bình"},
    "Quảng Trị": {"Quảng Bình", "Quảng Trị"},
    "Đà Nẵng": {"Quảng Nam", "Đà Nẵng"},
    "Quảng Ngãi": {"Kon Tum", "Quảng Ngãi"},
    "Gia Lai": {"Gia Lai", "Bình Định"},
    "Khánh Hòa": {"Ninh Thuận", "Khánh Hòa"},
    "Lâm Đồng": {"Đắk Nông", "Bình Thuận", "Lâm Đồng"},
    "Đắk Lắk": {"Phú Yên", "Đắk Lắk"},
    "Hồ Chí Minh": {"Bà Rịa - Vũng Tàu", "Bình Dương", "Hồ Chí Minh"},
    "Đồng Nai": {"Bình Phước", "Đồng Nai"},
    "Tây Ninh": {"Long An", "Tây Ninh"},
    "Cần Thơ": {"Sóc Trăng", "Hậu Giang", "Cần Thơ"},
    "Vĩnh Long": {"Bến Tre", "Trà Vinh", "Vĩnh Long"},
    "Đồng Tháp": {"Tiền Giang", "Đồng Tháp"},
    "Cà Mau": {"Bạc Liêu", "Cà Mau"},
    "An Giang": {"Kiên Giang", "An Giang"},
}
NOT_REARRANGED = {
    # the 11 units the resolution left as they were (Thừa Thiên Huế: the city of Huế since 1 January 2025)
    "Hà Nội": "Hà Nội",
    "Huế": "Thừa Thiên Huế",
    "Lai Châu": "Lai Châu",
    "Điện Biên": "Điện Biên",
    "Sơn La": "Sơn La",
    "Lạng Sơn": "Lạng Sơn",
    "Quảng Ninh": "Quảng Ninh",
    "Thanh Hóa": "Thanh Hóa",
    "Nghệ An": "Nghệ An",
    "Hà Tĩnh": "Hà Tĩnh",
    "Cao Bằng": "Cao Bằng",
}
CENTRALLY_RUN_CITIES = {"Hà Nội", "Hồ Chí Minh", "Hải Phòng", "Đà Nẵng", "Cần Thơ", "Huế"}
NATIONAL_OR_SECTORAL = {
    "vn-open-data",
    "vn-odm",
    "vn-monre",
    "vn-vodic",
    "vn-mkdc",
    "vn-dulieumo",
    "vn-ptit",
    "vn-vnpt",
    "vn-taybac-university",
    "vn-sample",
}


def former_names_by_current_unit() -> dict[str, set[str]]:
    current = vietnam.current_units()
    found: dict[str, set[str]] = {}
    for unit in vietnam.former_units().values():
        found.setdefault(current[unit.current_code].name, set()).add(unit.name)
    return found


@pytest.mark.parametrize("unit", sorted(RESOLUTION_202_MERGERS))
def test_every_merged_unit_is_formed_as_the_resolution_says(unit) -> None:
    assert former_names_by_current_unit()[unit] == RESOLUTION_202_MERGERS[unit]


@pytest.mark.parametrize("unit", sorted(NOT_REARRANGED))
def test_the_eleven_units_left_as_they_were(unit) -> None:
    assert former_names_by_current_unit()[unit] == {NOT_REARRANGED[unit]}
    current = next(u for u in vietnam.current_units().values() if u.name == unit)
    former = next(u for u in vietnam.former_units().values() if u.current_code == current.code)
    assert current.iso_3166_2 == former.iso_3166_2  # same territory: the ISO 3166-2 code still holds


def test_63_units_became_34_provinces_and_cities() -> None:
    current, former = vietnam.current_units(), vietnam.former_units()
    assert (len(former), len(current)) == (63, 34)
    assert sum(len(parts) for parts in RESOLUTION_202_MERGERS.values()) == 52
    cities = {unit.name for unit in current.values() if unit.type == "centrally-run city"}
    assert cities == CENTRALLY_RUN_CITIES and len(current) - len(cities) == 28
    assert {unit.name for unit in former.values() if unit.type == "centrally-run city"} == CENTRALLY_RUN_CITIES - {
        "Huế"
    }


def test_codes_are_official_where_they_exist_and_marked_as_ours_where_not() -> None:
    current, former = vietnam.current_units(), vietnam.former_units()
    assert all(re.fullmatch(r"VN-(\d\d|CT|DN|HN|HP|SG)", code) for code in former)
    for unit in current.values():
        assert unit.code == f"VN34-{unit.gso_code}"  # a project code, not an ISO-looking one
        parts = [u for u in former.values() if u.current_code == unit.code]
        assert unit.gso_code in {u.gso_code for u in parts}  # each new unit kept the code of one of its parts
        merged = len(parts) > 1
        assert (unit.iso_3166_2 is None) == merged and "Resolution 202/2025/QH15" in unit.source
    assert len({u.gso_code for u in former.values()}) == 63


def test_names_are_vietnamese_with_diacritics_and_ascii() -> None:
    for unit in [*vietnam.current_units().values(), *vietnam.former_units().values()]:
        folded = unicodedata.normalize("NFKD", unit.name.replace("Đ", "D").replace("đ", "d"))
        assert "".join(c for c in folded if not unicodedata.combining(c)) == unit.name_ascii
        assert unicodedata.is_normalized("NFC", unit.name)


def test_the_tile_map_gives_every_unit_its_own_cell() -> None:
    cells = [(unit.tile_row, unit.tile_col) for unit in vietnam.current_units().values()]
    assert len(set(cells)) == 34
    by_name = {unit.name: unit for unit in vietnam.current_units().values()}
    assert by_name["Hà Nội"].tile_row < by_name["Đà Nẵng"].tile_row < by_name["Hồ Chí Minh"].tile_row
    assert by_name["Cà Mau"].tile_row == max(row for row, _ in cells)


def test_every_vietnamese_registry_entry_maps_to_exactly_one_current_unit(lake) -> None:
    portals = [portal for portal in load_registry().values() if portal.country == "VN"]
    provincial = [portal for portal in portals if portal.province]
    assert {portal.id for portal in portals} - {portal.id for portal in provincial} == NATIONAL_OR_SECTORAL
    units = [*vietnam.former_units().values(), *vietnam.current_units().values()]
    for portal in provincial:  # its code names exactly one unit, old or current, inside one current unit
        named = [unit for unit in units if unit.code == portal.province]
        assert len(named) == 1 and named[0].current_code in vietnam.current_units(), portal.id
    placed = rows(lake, "SELECT portal_id, unit_code FROM vn_registered_portals WHERE scope = 'provincial'")
    by_id = {row["portal_id"]: row["unit_code"] for row in placed}
    assert len(placed) == len(provincial)
    assert by_id == {portal.id: vietnam.current_unit_of(portal.province).code for portal in provincial}
    names = {portal.id: portal.current_province for portal in provincial}
    assert names["vn-long-an"] == "VN34-80 Tây Ninh" and names["vn-hau-giang"] == "VN34-92 Cần Thơ"
    assert names["vn-quang-binh-trade"] == "VN34-44 Quảng Trị" and names["vn-ninh-binh"] == "VN34-37 Ninh Bình"


def test_a_portal_may_be_registered_under_a_current_unit_but_not_an_unknown_one() -> None:
    base = Portal(id="vn-new", title="New portal", url="https://data.example.vn", software="ckan", country="VN")
    assert replace(base, province="VN34-80").current_province == "VN34-80 Tây Ninh"
    with pytest.raises(RegistryError, match=r"portal vn-new: province 'VN-99' is neither"):
        replace(base, province="VN-99")
    assert replace(base, country="TH", province="TH-99").current_province is None  # other countries: ISO shape only


def _words(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text.replace("Đ", "D").replace("đ", "d").casefold())
    return " " + " ".join(re.sub(r"[^a-z0-9]+", " ", folded.encode("ascii", "ignore").decode()).split()) + " "


def test_no_spelling_of_one_unit_is_found_inside_another_units_name() -> None:
    """The rule places a title naming one unit in that unit only: no spelling of one current unit
    appears, as whole words and folded to ASCII, inside a spelling of another."""
    names = vietnam.place_names()
    for name in names:
        for other in names:
            if name.current_code != other.current_code:
                assert _words(name.spelling) not in _words(other.spelling), (name, other)


def test_publishers_are_placed_by_the_province_their_title_names(vietnam_lake: Lake) -> None:
    found = rows(
        vietnam_lake,
        "SELECT publisher_name, unit_code, placed_by, rule FROM vn_publisher_province WHERE portal_id = 'vn-open-data'",
    )
    placed = {row["publisher_name"]: row["unit_code"] for row in found}
    assert placed == VIETNAMESE_PUBLISHERS
    by_name = {row["publisher_name"]: row for row in found}
    assert by_name[AMBIGUOUS_PUBLISHER]["placed_by"] == "ambiguous"
    assert by_name[AMBIGUOUS_PUBLISHER]["rule"] == "ambiguous: names VN34-80, VN34-86"
    assert by_name["Tổng cục Thống kê"]["placed_by"] == "unplaced"
    assert by_name["Sở Văn hóa tỉnh Hoà Bình"]["rule"].startswith("title names it (after tỉnh / thành phố / TP")


def test_publishers_naming_no_province_take_their_provincial_portals(vietnam_lake: Lake) -> None:
    found = rows(vietnam_lake, "SELECT * FROM vn_publisher_province WHERE portal_id = 'vn-long-an'")
    assert {row["placed_by"] for row in found} == {"title", "portal"}
    ambiguous = next(row for row in found if row["publisher_name"] == AMBIGUOUS_PUBLISHER)
    assert (ambiguous["unit_code"], ambiguous["placed_by"]) == ("VN34-80", "portal")  # Long An's, among those named
    assert ambiguous["rule"] == "title names VN34-80, VN34-86; its portal's province is one"
    national_bodies = [row for row in found if row["publisher_name"] == "Tổng cục Thống kê"]
    assert [(r["unit_code"], r["placed_by"]) for r in national_bodies] == [("VN34-80", "portal")]
    long_an = next(row for row in found if row["publisher_name"] == "Sở Tài chính tỉnh Long An")
    assert (long_an["unit_code"], long_an["matched_former_units"]) == ("VN34-80", ["VN-41"])


def test_province_coverage_has_all_34_units_and_counts_each_portal_under_its_current_unit(vietnam_lake) -> None:
    found = {row["code"]: row for row in rows(vietnam_lake, "SELECT * FROM vn_province_coverage")}
    assert len(found) == 34
    registered = [p for p in load_registry().values() if p.country == "VN" and p.province]
    assert sum(row["portals_registered"] for row in found.values()) == len(registered)
    for portal in registered:
        unit = vietnam.current_unit_of(portal.province)
        assert any(portal.id in f["portals"] for f in found[unit.code]["former_units"]), portal.id
    tay_ninh = found["VN34-80"]
    assert [f["name"] for f in tay_ninh["former_units"]] == ["Tây Ninh", "Long An"]
    assert tay_ninh["former_units"][1]["portals"] == ["vn-long-an"]
    assert (tay_ninh["portals_registered"], tay_ninh["portals_checked"], tay_ninh["portals_reachable"]) == (1, 1, 1)
    can_tho = found["VN34-92"]  # Cần Thơ's own portal and Hậu Giang's, which the check found down
    assert (can_tho["portals_registered"], can_tho["portals_checked"], can_tho["portals_reachable"]) == (2, 1, 0)
    assert found["VN34-12"]["datasets"] == 0 and found["VN34-12"]["share_open_licensed"] is None


def test_province_coverage_counts_each_dataset_once_under_its_publishers_unit(vietnam_lake) -> None:
    found = {row["code"]: row for row in rows(vietnam_lake, "SELECT * FROM vn_province_coverage")}
    placed = rows(
        vietnam_lake,
        "SELECT unit_code, sum(datasets) AS datasets, count(*) AS publishers FROM vn_publisher_province"
        " WHERE unit_code IS NOT NULL GROUP BY unit_code",
    )
    assert {row["unit_code"]: row["datasets"] for row in placed} == {
        code: row["datasets"] for code, row in found.items() if row["datasets"]
    }
    everything = rows(vietnam_lake, "SELECT count(*) AS n FROM datasets")[0]["n"]
    unplaced = rows(vietnam_lake, "SELECT sum(datasets) AS n FROM vn_publisher_province WHERE unit_code IS NULL")
    assert sum(row["datasets"] for row in found.values()) == everything - unplaced[0]["n"]
    tay_ninh = found["VN34-80"]
    assert tay_ninh["datasets"] == tay_ninh["datasets_on_own_portals"] + tay_ninh["datasets_elsewhere"]
    # on the national catalogue: "Long An", "Tây Ninh" and "So Tai chinh tinh Long An", two datasets each
    assert tay_ninh["datasets_elsewhere"] == 2 * 3
    assert tay_ninh["median_age_days"] > 0 and 0 <= tay_ninh["share_open_licensed"] <= 1


def test_national_catalogues_are_counted_apart(vietnam_lake) -> None:
    found = rows(vietnam_lake, "SELECT * FROM vn_portals")
    national = {row["portal_id"]: row for row in found if row["scope"] != "provincial"}
    assert set(national) == NATIONAL_OR_SECTORAL and all(row["unit_code"] is None for row in national.values())
    assert national["vn-sample"]["scope"] == "offline sample"  # make demo's, served on this machine
    assert national["vn-open-data"]["datasets"] == 2 * len(VIETNAMESE_PUBLISHERS)
    assert all(row["unit_code"] for row in found if row["scope"] == "provincial")


def test_every_asean_smart_city_is_listed_with_its_portals(vietnam_lake) -> None:
    found = rows(vietnam_lake, "SELECT * FROM ascn_pilot_city_portals")
    assert len({(row["country"], row["city"]) for row in found}) == 26
    hcmc = [row for row in found if row["city"] == "Ho Chi Minh City"]
    assert [row["portal_id"] for row in hcmc] == ["vn-opendata-hochiminhcity"]
    assert [row["portal_id"] for row in found if row["city"] == "Da Nang"] == [None]


def test_the_views_read_the_reference_tables_from_their_own_sql(vietnam_lake, tmp_path) -> None:
    """The database file a user copies elsewhere carries the reference data, not a path to it."""
    with connect(vietnam_lake) as connection:
        assert connection.execute("SELECT count(*) FROM vn_units_before_2025").fetchone() == (63,)
        spellings = connection.execute("SELECT count(*) FROM vn_place_names").fetchone()[0]
    assert spellings == len(vietnam.place_names())


def test_the_cli_lists_34_provinces(vietnam_lake, capsys) -> None:
    sql = "SELECT * FROM vn_province_coverage"
    assert main(["sql", sql, "--format", "table", "--lake", str(vietnam_lake.root)]) == 0
    out = capsys.readouterr().out
    assert out.rstrip().endswith("(34 rows)") and "Tây Ninh" in out and "VN34-80" in out


def test_the_province_tables_are_in_the_current_snapshots_and_follow_the_checks(vietnam_lake, tmp_path) -> None:
    lake = Lake(tmp_path / "lake")
    shutil.copytree(vietnam_lake.root, lake.root)
    refresh_snapshots(lake)
    whole, long_an = lake.root / "current" / "all", lake.root / "current" / "portals" / "vn-long-an"
    assert pq.read_metadata(whole / "vn_province_coverage.parquet").num_rows == 34
    assert not (long_an / "vn_province_coverage.parquet").exists()  # not kept by portal: in `all` only
    publishers = pq.read_table(long_an / "vn_publisher_province.parquet").column("portal_id").to_pylist()
    assert set(publishers) == {"vn-long-an"}
    down = replace(load_registry()["vn-long-an"], url="http://127.0.0.1:9")
    check_portals([down], lake)  # Long An's portal is down now: the Vietnam table changes, so `all` rebuilds
    assert [manifest["snapshot"] for manifest in refresh_snapshots(lake)] == ["all"]
    coverage = pq.read_table(whole / "vn_province_coverage.parquet").to_pylist()
    assert next(row for row in coverage if row["code"] == "VN34-80")["portals_reachable"] == 0
