"""Source freshness on a folder of daily files: the files loaded before are answered from the published
warehouse's base models, only the new files are parsed; anything unexpected falls back to parsing every file.

Files are immutable once loaded, so a test that edits a loaded file in place sees which way was taken: the
stored answer keeps the old value, a full parse sees the edit.
"""

from __future__ import annotations

import contextlib
import csv
import json
import shutil
import sys
from pathlib import Path

import duckdb
import pytest
from dbt_harness import PROJECT_DIR, close_dbt_connections, environment, run_dbt
from driver_data import AS_OF, write_raw
from test_run_pipeline import run_driver

sys.path.insert(0, str(PROJECT_DIR))
from lifecycle_pipeline import freshness  # noqa: E402
from lifecycle_pipeline.inputs import required_columns  # noqa: E402

COLUMNS = required_columns()
TIMESTAMP = {"orders": "ordered_at", "sessions": "started_at", "newsletter_signups": "signed_up_at",
             "email_events": "occurred_at"}  # fmt: skip
ID = {"orders": "order_id", "sessions": "session_id", "newsletter_signups": "signup_id", "email_events": "event_id"}

# The day-1 files, loaded into the warehouse before the day-2 files land. Only ids and timestamps matter here:
# freshness looks at every row's timestamp, usable or quarantined for another reason.
DAY_1 = {
    "orders": ["2026-10-01T08:00:00", "2026-10-01T11:30:00+05:00", "2099-01-01T00:00:00", "yesterday"],
    "sessions": ["2026-10-01 10:00:00"],
    "newsletter_signups": ["2026-09-30T12:00:00"],
    "email_events": ["2026-10-01T12:00:00"],
}
DAY_2 = {
    "orders": ["2026-09-15T00:00:00"],  # a late row, older than what is stored
    "sessions": ["2026-10-02T06:00:00+01:00"],  # newer, with an offset: 05:00 UTC
    "email_events": ["2099-06-01T00:00:00", "n/a"],  # nothing usable: a future and an unparseable timestamp
}
# Hand-computed from DAY_1 + DAY_2: future (beyond run start + 24 h) and unparseable values do not count;
# 11:30+05:00 is 06:30 UTC, before 08:00.
EXPECTED = {
    "orders": "2026-10-01T08:00:00+00:00",
    "sessions": "2026-10-02T05:00:00+00:00",
    "newsletter_signups": "2026-09-30T12:00:00+00:00",
    "email_events": "2026-10-01T12:00:00+00:00",
}


def write_day(raw: Path, day: str, timestamps: dict[str, list[str]], extra_rows: int = 0) -> None:
    """One CSV file per dataset, raw/<dataset>/<day>.csv, one row per timestamp (ids made from the day)."""
    for dataset, values in timestamps.items():
        folder = raw / dataset
        folder.mkdir(parents=True, exist_ok=True)
        with open(folder / f"{day}.csv", "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=COLUMNS[dataset])
            writer.writeheader()
            for number, value in enumerate(values):
                writer.writerow({ID[dataset]: f"{day}-{number}", "email": "a@example.com", TIMESTAMP[dataset]: value})


def newest(raw: Path, work: Path, published: Path | None) -> dict[str, str]:
    """freshness.check as the driver calls it (dbt in-process, in the driver's environment): dataset -> newest
    usable timestamp."""
    variables = {"DBT_TARGET_PATH": str(work / "dbt-target"), "DBT_LOG_PATH": str(work / "dbt-logs")}
    variables |= {"DBT_PROFILES_DIR": str(PROJECT_DIR / "profiles"), "LIFECYCLE_DUCKDB_PATH": None}
    with environment(variables | {"LIFECYCLE_RAW_DIR": None}), contextlib.chdir(PROJECT_DIR):
        try:
            results = freshness.check(raw, None, published)
        finally:
            close_dbt_connections()
    assert results is not None, "dbt source freshness could not run"
    return {result.dataset: result.newest for result in results}


@pytest.fixture
def loaded(tmp_path):
    """Day 1 loaded into a warehouse (base models only), then day 2 landed."""
    raw, warehouse = tmp_path / "raw", tmp_path / "warehouse.duckdb"
    write_day(raw, "2026-10-01", DAY_1)
    run_dbt(["run", "--select", "path:models/staging/shop/base"], raw, warehouse)
    write_day(raw, "2026-10-02", DAY_2)
    return raw, warehouse


def test_stored_maximum_and_new_files_decide_and_old_files_are_not_read(loaded, tmp_path):
    raw, warehouse = loaded
    assert newest(raw, tmp_path, warehouse) == EXPECTED
    assert newest(raw, tmp_path, None) == EXPECTED  # parsing every file agrees
    # Edit a loaded file in place (the contract forbids it): the stored answer does not see it, a full parse does.
    write_day(raw, "2026-10-01", {"orders": [*DAY_1["orders"], "2026-10-20T00:00:00"]})
    assert newest(raw, tmp_path, warehouse) == EXPECTED
    assert newest(raw, tmp_path, None) == {**EXPECTED, "orders": "2026-10-20T00:00:00+00:00"}


def test_unexpected_states_fall_back_to_parsing_every_file(loaded, tmp_path):
    raw, warehouse = loaded
    write_day(raw, "2026-10-01", {"orders": [*DAY_1["orders"], "2026-10-20T00:00:00"]})
    # A warehouse without the base models (as before the first build): every file is parsed.
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    assert newest(raw, tmp_path, empty) == {**EXPECTED, "orders": "2026-10-20T00:00:00+00:00"}
    # A loaded file is gone: the stored rows no longer describe the folder, so the files left are parsed.
    (raw / "orders" / "2026-10-01.csv").unlink()
    assert newest(raw, tmp_path, warehouse) == {**EXPECTED, "orders": "2026-09-15T00:00:00+00:00"}


def test_driver_reads_the_published_warehouse_on_a_normal_run_only(tmp_path):
    """Driver data as folders: a normal run answers loaded files from the published database (an in-place edit
    stays unseen), --full-refresh parses every file."""
    raw = write_raw(tmp_path / "raw")
    for dataset in COLUMNS:
        (raw / dataset).mkdir()
        shutil.move(raw / f"{dataset}.csv", raw / dataset / "2026-10-31.csv")
    database = tmp_path / "warehouse" / "lifecycle.duckdb"
    # The freshness check comes before dbt and reads the landed tables of the warehouse: the runs build those
    # only (--select), without tests (--skip-tests).
    args = ["--raw-dir", str(raw), "--database", str(database), "--as-of", AS_OF.isoformat(), "--json", "--skip-tests"]
    args += ["--select", "path:models/staging/shop/base"]

    def freshness_of(*extra: str) -> dict[str, str]:
        result = run_driver(*args, *extra, work=tmp_path)
        assert result.returncode == 0, result.stderr[-3000:]
        return {dataset: item["newest"] for dataset, item in json.loads(result.stdout)["freshness"].items()}

    first = freshness_of()
    assert first["email_events"] == f"{AS_OF}T08:00:00+00:00"
    # Same number of rows (the output checks count them), one timestamp moved later in the loaded file;
    # a new orders file lands with a later order.
    events = raw / "email_events" / "2026-10-31.csv"
    events.write_text(events.read_text().replace(f"{AS_OF}T08:00:00", f"{AS_OF}T09:30:00"))
    with open(raw / "orders" / "2026-11-06.csv", "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS["orders"])
        writer.writerow(["o-new", "c1", "person1@example.com", "2026-11-06T07:15:00", "completed", "40.00"])
    normal = freshness_of()
    assert normal == {**first, "orders": "2026-11-06T07:15:00+00:00"}
    full = freshness_of("--full-refresh")
    assert full == {**normal, "email_events": f"{AS_OF}T09:30:00+00:00"}
