"""How a harvest shows progress: a bar on a terminal, log lines elsewhere, and no bar code loaded for the latter."""

from __future__ import annotations

import logging
import subprocess
import sys

import pytest

from catalog.harvest.progress import Progress


def test_a_terminal_gets_a_bar_of_datasets_and_pages(capsys: pytest.CaptureFixture[str]) -> None:
    progress = Progress("hanoi", enabled=True)
    progress.page(340, 1000, 340)
    progress.page(360, 1000, 700)
    progress.close()
    drawn = capsys.readouterr().err
    assert "hanoi" in drawn
    assert "700/1000" in drawn
    assert "pages=2" in drawn


def test_elsewhere_a_line_is_logged_every_few_pages(caplog: pytest.LogCaptureFixture) -> None:
    progress = Progress("hanoi", enabled=False, log_every=2)
    with caplog.at_level(logging.INFO, logger="catalog.harvest"):
        for done in (100, 200, 300):
            progress.page(100, 300, done)
    progress.close()
    lines = [record.getMessage() for record in caplog.records]
    assert [line.split(",")[0] for line in lines] == ["hanoi: page 1", "hanoi: page 3"]
    assert "300/300 datasets" in lines[-1]


def test_the_command_line_loads_the_bar_only_when_it_draws_one() -> None:
    """tqdm takes about 13 ms to import: every harvest away from a terminal (Dagster, cron) paid it."""
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, catalog.cli; print('tqdm' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert loaded == "False"
