"""A lake on S3-compatible object storage (`s3://bucket/prefix`), against moto's S3 server on loopback:
harvests are written there, the views read them there, a failed harvest changes nothing, and the current
snapshots are uploaded there."""

from __future__ import annotations

import copy
import csv
import io
import os
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from catalog.cli import main
from catalog.harvest import harvest_portal
from catalog.integrity import schema_as_declared, unique_keys
from catalog.lake import Lake
from catalog.report import write_report
from catalog.snapshots import ALL, read_manifest, refresh_snapshots
from tests.conftest import FAST, portal_at, real_packages, rows

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "AWS_DEFAULT_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    saved = {name: os.environ.get(name) for name in [*CREDENTIALS, "AWS_ENDPOINT_URL"]}
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    os.environ.update(CREDENTIALS | {"AWS_ENDPOINT_URL": f"http://{host}:{port}"})
    try:
        yield os.environ["AWS_ENDPOINT_URL"]
    finally:
        server.stop()
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def s3_lake(s3_endpoint, tmp_path, request) -> Lake:
    bucket = f"lake-{request.node.name.replace('_', '-')[:40]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return Lake(f"s3://{bucket}/catalog", work_dir=tmp_path / "work")


def test_harvests_are_written_to_and_read_from_the_store(serve, s3_lake) -> None:
    packages = real_packages()
    portal = serve(packages)
    first = harvest_portal(portal_at(portal.url), s3_lake, settings=FAST)
    assert (first.status, first.datasets, first.distributions) == ("complete", 15, 61)
    assert all(location.startswith(s3_lake.location("harvests/")) for location in s3_lake.table_files("datasets"))
    assert rows(s3_lake, "SELECT count(*) AS n FROM datasets") == [{"n": 15}]
    assert schema_as_declared(s3_lake, "test-portal", first.harvest_id).passed
    assert unique_keys(s3_lake, "test-portal", first.harvest_id).passed

    changed = copy.deepcopy(packages[0]) | {"title": "Renamed", "metadata_modified": "2030-01-01T00:00:00"}
    portal.catalogue.update(changed)
    second = harvest_portal(portal_at(portal.url), s3_lake, settings=FAST)
    assert (second.mode, second.modified) == ("incremental", 1)
    assert rows(s3_lake, "SELECT title FROM datasets WHERE dataset_id = ?", changed["id"]) == [{"title": "Renamed"}]
    assert [run["status"] for run in s3_lake.runs("test-portal")] == ["complete", "complete"]
    assert not any((s3_lake.root / "_staging").glob("*/*"))  # nothing left in the local working folder


def test_a_failed_harvest_changes_nothing_on_the_store(serve, s3_lake) -> None:
    portal = serve(real_packages())
    harvest_portal(portal_at(portal.url), s3_lake, settings=FAST)
    before = s3_lake.table_files("datasets")
    portal.options.intercept = lambda action, params: (503, b"down", "text/plain")
    with pytest.raises(Exception, match="HTTP 503"):
        harvest_portal(portal_at(portal.url), s3_lake, settings=FAST, full=True)
    assert s3_lake.table_files("datasets") == before
    assert rows(s3_lake, "SELECT count(*) AS n FROM datasets") == [{"n": 15}]
    assert sorted(run["status"] for run in s3_lake.runs("test-portal")) == ["complete", "failed"]


def test_cli_and_report_take_an_s3_lake(serve, s3_lake, tmp_path, capsys) -> None:
    portal = serve(real_packages())
    assert main(["harvest", portal.url, "--portal", "uk", "--software", "ckan", "--lake", s3_lake.uri]) == 0
    capsys.readouterr()
    assert main(["sql", "SELECT count(*) AS n FROM datasets", "--format", "csv", "--lake", s3_lake.uri]) == 0
    assert capsys.readouterr().out == "n\n15\n"
    report = write_report(s3_lake, tmp_path / "report")
    downloads = (report.out / "downloads.html").read_text()
    assert f'href="{s3_lake.uri}/harvests/portal_id=uk/' in downloads


def test_current_snapshots_are_written_to_the_store_manifest_last(serve, s3_lake, tmp_path) -> None:
    portal = serve(real_packages())
    harvest_portal(portal_at(portal.url, "uk"), s3_lake, settings=FAST)
    assert [manifest["snapshot"] for manifest in refresh_snapshots(s3_lake)] == ["portals/uk", ALL]
    assert refresh_snapshots(s3_lake) == []  # read back from the store: nothing changed
    manifest = read_manifest(s3_lake, ALL)
    for table in manifest["tables"]:
        for entry in table["files"].values():
            assert s3_lake.filesystem.size(s3_lake.current_file(ALL, entry["file"])) == entry["bytes"]
    datasets = s3_lake.filesystem.cat_file(s3_lake.current_file("portals/uk", "datasets.csv")).decode()
    assert len(list(csv.DictReader(io.StringIO(datasets)))) == 15  # descriptions span lines, quoted
    assert not list((s3_lake.root / "current").rglob("*.parquet"))  # nothing left in the local working folder
    report = write_report(s3_lake, tmp_path / "report")
    assert f'href="{s3_lake.uri}/current/all/datasets.parquet"' in (report.out / "downloads.html").read_text()
