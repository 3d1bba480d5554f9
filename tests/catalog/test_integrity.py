"""The checks Dagster shows on catalog_tables: they pass on good harvests and catch what they exist for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq

from catalog.harvest import harvest_portal
from catalog.integrity import count_reconciled, harvest_fresh, schema_as_declared, unique_keys
from tests.conftest import FAST, portal_at, real_packages


def test_checks_pass_on_a_real_harvest_and_fail_on_a_damaged_one(serve, lake) -> None:
    portal = portal_at(serve(real_packages()).url)
    run = harvest_portal(portal, lake, settings=FAST)
    assert schema_as_declared(lake, portal.id, run.harvest_id).passed
    assert unique_keys(lake, portal.id, run.harvest_id).passed

    folder = lake.harvest_path(portal.id, run.harvest_id)
    datasets = pq.read_table(folder / "datasets.parquet")
    pq.write_table(pa.concat_tables([datasets, datasets.slice(0, 2)]), folder / "datasets.parquet")
    outcome = unique_keys(lake, portal.id, run.harvest_id)
    assert (outcome.passed, outcome.description) == (False, "repeated keys: {'datasets': 2}")
    pq.write_table(datasets.drop_columns(["title"]), folder / "datasets.parquet")
    outcome = schema_as_declared(lake, portal.id, run.harvest_id)
    assert (outcome.passed, outcome.description) == (False, "schema differs: {'datasets': ['title']}")


def test_count_reconciliation_warns_beyond_the_tolerance() -> None:
    assert count_reconciled({"mode": "full", "datasets": 995, "source_count": 1000}).passed
    outcome = count_reconciled({"mode": "full", "datasets": 900, "source_count": 1000})
    assert (outcome.passed, outcome.warn_only) == (False, True)
    assert outcome.description == "harvested 900 of 1000 reported (10.0% apart; tolerance 1%)"
    assert count_reconciled({"mode": "incremental", "datasets": 3, "source_count": 1000}).passed


def test_freshness_names_portals_not_harvested_within_their_cadence(serve, lake) -> None:
    daily = portal_at(serve(real_packages()).url, "daily-portal")
    never = portal_at("http://127.0.0.1:9", "never-harvested")
    manual = portal_at("http://127.0.0.1:9", "manual-portal", cadence="manual")
    harvest_portal(daily, lake, settings=FAST)
    assert harvest_fresh(lake, [daily, manual]).passed
    outcome = harvest_fresh(lake, [daily, never, manual], now=datetime.now(UTC) + timedelta(hours=40))
    assert not outcome.passed
    assert set(outcome.metadata["stale"]) == {"daily-portal", "never-harvested"}
    assert outcome.metadata["stale"]["never-harvested"] == "never"
