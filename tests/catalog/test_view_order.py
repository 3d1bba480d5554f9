"""The order views are created in: what each `sql/` file reads, as DuckDB parses it, never a word that
merely looks like a view's name."""

from __future__ import annotations

import pytest

from catalog.errors import LakeError
from catalog.views import creation_order, view_definitions


def view(name: str, select: str) -> str:
    return f"-- {name}: what it answers.\nCREATE OR REPLACE VIEW {name} AS\n{select};\n"


COUNTS = view("publisher_counts", "SELECT portal_id, count(*) AS publishers FROM publishers GROUP BY portal_id")


@pytest.mark.parametrize(
    "select",
    [
        "SELECT p.* FROM lake_publishers AS publisher_counts JOIN lake_publishers AS p USING (portal_id)",
        "SELECT *, portal_id AS publisher_counts FROM lake_publishers",
        "SELECT *, 'publisher_counts' AS source FROM lake_publishers",
        "SELECT * /* publisher_counts reads this one */ FROM lake_publishers",
        "WITH publisher_counts AS (SELECT * FROM lake_publishers) SELECT * FROM publisher_counts",
        "SELECT * FROM lake_publishers WHERE portal_id IN (WITH publisher_counts AS (SELECT 'x' AS portal_id)"
        " SELECT portal_id FROM publisher_counts)",
    ],
    ids=["table alias", "column alias", "string literal", "block comment", "CTE", "CTE in a subquery"],
)
def test_a_name_that_is_not_a_reference_is_no_dependency(select: str) -> None:
    # publisher_counts reads publishers: a false dependency the other way round would be a cycle
    definitions = {"publishers": view("publishers", select), "publisher_counts": COUNTS}
    assert creation_order(definitions, given={"lake_publishers"}) == ["publishers", "publisher_counts"]


def test_a_cte_reading_the_view_it_is_named_after_depends_on_it() -> None:
    # inside its own (non-recursive) definition, a CTE's name is still the view outside
    recent = view(
        "recent",
        "WITH publishers AS (SELECT * FROM publishers WHERE portal_id = 'x') SELECT * FROM publishers",
    )
    definitions = {"recent": recent, "publishers": view("publishers", "SELECT * FROM lake_publishers")}
    assert creation_order(definitions, given={"lake_publishers"}) == ["publishers", "recent"]


def test_a_table_macro_comes_before_the_views_calling_it() -> None:
    macro = (
        "CREATE OR REPLACE MACRO publishers_of(portal) AS TABLE\n"
        "SELECT * FROM lake_publishers WHERE portal_id = portal;"
    )
    caller = view("sample_publishers", "SELECT count(*) FROM publishers_of('vn-sample')")
    definitions = {"sample_publishers": caller, "publishers_of": macro}
    assert creation_order(definitions, given={"lake_publishers"}) == ["publishers_of", "sample_publishers"]


def test_the_shipped_views_follow_what_they_read() -> None:
    order = creation_order(view_definitions())
    assert order.index("latest_harvests") < order.index("datasets") < order.index("coverage_by_publisher")
    assert order.index("dataset_version_formats") < order.index("dataset_formats") < order.index("dataset_quality")
    assert order.index("dataset_history") < order.index("datasets_as_of")
    assert order.index("link_status") < order.index("distribution_links") < order.index("format_mismatch")


def test_a_cycle_names_its_files() -> None:
    definitions = {
        "first": view("first", "SELECT * FROM second"),
        "second": view("second", "SELECT * FROM first"),
    }
    with pytest.raises(LakeError, match=r"cycle .*(first\.sql -> second\.sql|second\.sql -> first\.sql)"):
        creation_order(definitions, given=())


def test_reading_an_unknown_view_names_the_file() -> None:
    definitions = {"publisher_counts": COUNTS}
    with pytest.raises(LakeError, match=r"^sql/publisher_counts\.sql: reads publishers, neither a view in sql/"):
        creation_order(definitions, given={"lake_publishers"})


@pytest.mark.parametrize(
    ("sql", "problem"),
    [
        (view("other_name", "SELECT 1"), "expected CREATE OR REPLACE VIEW counts AS"),
        ("CREATE VIEW counts AS SELECT 1;", "expected CREATE OR REPLACE VIEW counts AS"),
        (view("counts", "SELECT 1; DROP VIEW datasets"), "one statement per file"),
        (view("counts", "SELECT FROM WHERE"), "syntax error"),
        (view("counts", "SELECT * FROM main.datasets"), "reads main.datasets"),
    ],
    ids=["another name", "not CREATE OR REPLACE", "two statements", "not SQL", "a qualified name"],
)
def test_a_file_not_defining_its_view_is_refused_by_name(sql: str, problem: str) -> None:
    with pytest.raises(LakeError, match=rf"^sql/counts\.sql: .*{problem}"):
        creation_order({"counts": sql}, given={"datasets"})
