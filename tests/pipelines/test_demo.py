"""The README's main job, offline: sample portal -> Dagster -> lake -> coverage summary."""

from __future__ import annotations

from catalog.lake import Lake
from catalog.views import query
from pipelines import demo


def test_demo_harvests_the_sample_portal_and_prints_coverage(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    lake = Lake(tmp_path / "lake")
    assert demo.main(["--size", "120", "--lake", str(lake.root)]) == 0
    out = capsys.readouterr().out
    assert "Coverage by publisher:" in out and "Sở Tài chính" in out
    _, rows = query(lake, "SELECT count(*), count(DISTINCT publisher_id) FROM datasets WHERE portal_id = 'vn-sample'")
    assert rows == [(120, 10)]
    assert (lake.root / "catalog.duckdb").is_file()
    assert (lake.root / "report" / "index.html").is_file()
    snapshot = (lake.root / "current" / "portals" / "vn-sample" / "datasets.csv").read_text(encoding="utf-8")
    assert len(snapshot.splitlines()) >= 1 + 120 and "Sở Tài chính" in snapshot
    assert "Reference categories covered" in out
