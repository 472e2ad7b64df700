from __future__ import annotations

import datetime as dt
import fcntl
import os
import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dbt_harness import WITHOUT_PREDICTION, run_dbt  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def staging_fixture_db(tmp_path_factory) -> Path:
    """The hand-made raw fixture (one bad row per quarantine rule) built through staging."""
    database = tmp_path_factory.mktemp("staging_fixture") / "warehouse.duckdb"
    run_dbt(["build", "--select", "staging"], FIXTURES / "staging_raw", database)
    return database


# tests/python/fixtures/history_raw (test_history.py explains it) and the as-of dates it is built for, in order.
HISTORY_RAW = FIXTURES / "history_raw"
HISTORY_DATES = (dt.date(2024, 1, 25), dt.date(2024, 2, 3), dt.date(2024, 2, 6))


@pytest.fixture(scope="session")
def built_dates(tmp_path_factory) -> dict[dt.date, Path]:
    """One warehouse built from history_raw as of each of HISTORY_DATES in order, saved after each date: as-of
    date -> the file after it. Read it, or copy the file to change it.

    Built once per `make test`: the pytest-xdist workers share their parent temporary folder, and the first
    worker to need the files builds them under a lock while the others wait, then read them."""
    shared = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        shared = shared.parent
    folder = shared / "history_dates"
    saved = {as_of: folder / f"after_{as_of}" / "warehouse.duckdb" for as_of in HISTORY_DATES}
    with (shared / "history_dates.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "complete").exists():
            shutil.rmtree(folder, ignore_errors=True)
            database = folder / "build" / "warehouse.duckdb"
            database.parent.mkdir(parents=True)
            for as_of in HISTORY_DATES:  # the data tests (history agreement included) on the last date's build
                command = "build" if as_of == HISTORY_DATES[-1] else "run"
                run_dbt([command], HISTORY_RAW, database, {"as_of_date": as_of.isoformat(), **WITHOUT_PREDICTION})
                saved[as_of].parent.mkdir()
                shutil.copyfile(database, saved[as_of])
            (folder / "complete").touch()
    return saved
