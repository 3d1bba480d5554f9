"""The README's main job, offline: sample portal -> Dagster -> lake -> coverage summary."""

from __future__ import annotations

from catalog.lake import Lake
from catalog.sample.catalogue import PUBLISHERS, generate
from catalog.sample.server import download_answer
from catalog.views import query
from pipelines import demo


def test_demo_harvests_the_sample_portal_and_prints_coverage(tmp_path, capsys, monkeypatch) -> None:
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    lake = Lake(tmp_path / "lake")
    assert demo.main(["--size", "120", "--lake", str(lake.root)]) == 0
    out = capsys.readouterr().out
    assert "Coverage by publisher:" in out and "Sở Tài chính" in out
    _, rows = query(lake, "SELECT count(*), count(DISTINCT publisher_id) FROM datasets WHERE portal_id = 'vn-sample'")
    assert rows == [(120, len(PUBLISHERS))]
    assert (lake.root / "catalog.duckdb").is_file()
    assert (lake.root / "report" / "index.html").is_file()
    snapshot = (lake.root / "current" / "portals" / "vn-sample" / "datasets.csv").read_text(encoding="utf-8")
    assert len(snapshot.splitlines()) >= 1 + 120 and "Sở Tài chính" in snapshot
    assert "Reference categories covered" in out
    # Publishers from old (Long An) and merged (Tây Ninh) provinces both land on today's Tây Ninh
    assert "Vietnam by province" in out and "Tây Ninh" in out
    _, units = query(lake, "SELECT count(*) FILTER (WHERE datasets > 0), sum(datasets) FROM vn_province_coverage")
    assert units[0][0] >= 7 and units[0][1] < 120  # the national bodies' datasets belong to no province
    assert "Tây Ninh" in (lake.root / "report" / "vietnam.html").read_text(encoding="utf-8")
    # the sample's files are checked through Dagster: the dead ones and the "CSV"s that are web pages show
    assert "Download links" in out
    states = dict(query(lake, "SELECT state, count(*) FROM link_status GROUP BY ALL")[1])
    files = [
        (resource["id"], resource["url"].rsplit("/", 1)[1])
        for package in generate(120)[0]
        for resource in package["resources"]
    ]
    answers = [download_answer(resource_id, name) for resource_id, name in files]
    assert states == {"ok": sum(status == 200 for status, _ in answers), "broken": sum(s == 404 for s, _ in answers)}
    assert states["broken"] > 0
    [(mismatched,)] = query(lake, "SELECT count(*) FROM format_mismatch")[1]
    assert mismatched > 0
    assert "broken links" in (lake.root / "report" / "links.html").read_text(encoding="utf-8")
