"""scripts/run_pipeline.py end to end: options, exit codes, validation, publish, export, report.

The driver runs as a subprocess (sys.executable) against tmp_path databases. One successful build is
shared by the module (`built`); tests that change a database work on a copy of it.
"""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import subprocess
import sys
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from driver_data import AS_OF, write_raw

PROJECT_DIR = Path(__file__).resolve().parents[2]
DRIVER = PROJECT_DIR / "scripts" / "run_pipeline.py"
MARTS = ("customer_lifecycle", "lifecycle_summary", "campaign_audiences", "abandoned_cart_reminders", "rfm_summary")

# Hand-computed from tests/python/driver_data.py as of 2026-10-31 (see the comments there):
# persons 1-6 buy every 30 days (repeat), 7-12 bought once long ago and 13-18 stopped in spring (lapsed:
# far past twice their expected interval), 19-24 never bought anything valid up to the as-of date.
EXPECTED_STAGES = {"prospect": 6, "new": 0, "repeat": 6, "at_risk": 0, "lapsed": 12}
# 39 regular orders x 40.00 + 6 x 25.50 + 24 x 60.00; the returned order and the one after the as-of
# date do not count, the bad row is quarantined.
EXPECTED_NET_REVENUE = Decimal("3153.00")
OPTIONS = (
    "--raw-dir", "--as-of", "--database", "--target", "--full-refresh", "--select", "--generate", "--customers",
    "--export-dir", "--report", "--json", "--quiet", "--max-quarantine-share", "--debug",
    "--as-of-range", "--step", "--freshness", "--skip-tests",
)  # fmt: skip


def run_driver(*args: str, work: Path) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "DBT_TARGET_PATH": str(work / "dbt-target"),
        "DBT_LOG_PATH": str(work / "dbt-logs"),
    }
    env.pop("LIFECYCLE_DUCKDB_PATH", None)
    env.pop("LIFECYCLE_RAW_DIR", None)
    env.pop("LIFECYCLE_THREADS", None)  # the driver chooses (docs/driver.md "dbt threads")
    return subprocess.run(
        [sys.executable, str(DRIVER), *args], cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=900
    )


def marts_digest(database: Path) -> dict[str, str]:
    """Hash of every mart's rows in a fixed order: equal digests = identical marts."""
    digests = {}
    with duckdb.connect(str(database), read_only=True) as con:
        for mart in MARTS:
            rows = con.execute(f"select * from marts.{mart} order by all").fetchall()
            digests[mart] = hashlib.sha256(repr(rows).encode()).hexdigest()
    return digests


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """One full successful run: raw files, published database, Parquet export, report, JSON summary."""
    work = tmp_path_factory.mktemp("driver")
    raw = write_raw(work / "raw")
    database = work / "warehouse" / "lifecycle.duckdb"
    result = run_driver(
        "--raw-dir", str(raw), "--database", str(database), "--as-of", AS_OF.isoformat(),
        "--export-dir", str(work / "export"), "--report", str(work / "report.html"), "--json",
        work=work,
    )  # fmt: skip
    assert result.returncode == 0, f"driver failed:\n{result.stderr[-4000:]}"
    return {
        "work": work,
        "raw": raw,
        "database": database,
        "export": work / "export",
        "report": work / "report.html",
        "summary": json.loads(result.stdout),
        "stderr": result.stderr,
    }


def copy_database(built, name: str) -> Path:
    target = built["work"] / name / built["database"].name
    target.parent.mkdir()
    shutil.copyfile(built["database"], target)
    return target


# --- options and exit codes ----------------------------------------------------------------------------


def test_help_lists_every_option_and_the_exit_codes(tmp_path):
    result = run_driver("--help", work=tmp_path)
    assert result.returncode == 0
    for option in OPTIONS:
        assert option in result.stdout, option
    for line in ("0  success", "2  bad input", "3  dbt failed", "4  output validation failed"):
        assert line in result.stdout


def test_missing_raw_file_is_bad_input(tmp_path):
    raw = write_raw(tmp_path / "raw")
    (raw / "sessions.csv").unlink()
    result = run_driver("--raw-dir", str(raw), "--database", str(tmp_path / "db.duckdb"), work=tmp_path)
    assert result.returncode == 2
    assert "sessions.csv" in result.stderr and "missing" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "db.duckdb").exists()


def test_missing_required_column_is_bad_input_naming_file_and_column(tmp_path):
    raw = write_raw(tmp_path / "raw")
    path = raw / "orders.csv"
    with path.open(newline="") as handle:
        rows = [row[:5] for row in csv.reader(handle)]  # drop `amount`
    with path.open("w", newline="") as handle:
        csv.writer(handle).writerows(rows)
    result = run_driver("--raw-dir", str(raw), "--database", str(tmp_path / "db.duckdb"), "--json", work=tmp_path)
    assert result.returncode == 2
    assert "orders.csv" in result.stderr and "'amount'" in result.stderr
    summary = json.loads(result.stdout)
    assert summary["status"] == "failed" and summary["exit_code"] == 2


@pytest.mark.parametrize("bad_date", ["2026-02-30", "31.10.2026", "yesterday"])
def test_as_of_must_be_a_real_date(tmp_path, bad_date):
    raw = write_raw(tmp_path / "raw")
    result = run_driver("--raw-dir", str(raw), "--as-of", bad_date, work=tmp_path)
    assert result.returncode == 2
    assert bad_date in result.stderr and "YYYY-MM-DD" in result.stderr
    assert "Traceback" not in result.stderr


def test_dbt_failure_exits_3_and_keeps_the_published_database(built):
    database = copy_database(built, "dbt_failure")
    before = marts_digest(database)
    result = run_driver(
        "--raw-dir", str(built["raw"]), "--database", str(database), "--target", "no_such_target",
        work=built["work"],
    )  # fmt: skip
    assert result.returncode == 3, result.stderr[-2000:]
    assert "dbt build failed" in result.stderr and "no_such_target" in result.stderr
    assert "Traceback" not in result.stderr
    assert marts_digest(database) == before
    assert not (database.parent / f".{database.name}.work").exists()


def test_generate_makes_the_raw_files_before_the_input_checks(tmp_path):
    # A bad target stops the run right after the generator and the input checks, which keeps this test fast.
    raw = tmp_path / "generated"
    result = run_driver(
        "--generate", "--customers", "30", "--raw-dir", str(raw), "--database", str(tmp_path / "db.duckdb"),
        "--target", "no_such_target", "--json",
        work=tmp_path,
    )  # fmt: skip
    assert result.returncode == 3, result.stderr[-2000:]
    for dataset in ("orders", "sessions", "newsletter_signups", "email_events"):
        assert (raw / f"{dataset}.csv").is_file(), dataset
    assert set(json.loads(result.stdout)["phases"]) == {"generate", "inputs", "work_copy", "dbt"}
    assert "--customers only makes sense with --generate" in run_driver("--customers", "5", work=tmp_path).stderr


def test_quarantine_share_breach_fails_validation_and_publishes_nothing(built):
    database = copy_database(built, "validation_failure")
    before = marts_digest(database)
    result = run_driver(
        "--raw-dir", str(built["raw"]), "--database", str(database), "--as-of", "2026-11-01",
        "--max-quarantine-share", "0", "--json",
        work=built["work"],
    )  # fmt: skip
    assert result.returncode == 4, result.stderr[-2000:]
    # The one bad orders row: 1 of 72 rows (71 valid + 1 bad).
    assert "quarantine share (orders)" in result.stderr
    assert "1 of 72 rows quarantined" in result.stderr
    summary = json.loads(result.stdout)
    failed = [check["check"] for check in summary["checks"] if not check["ok"]]
    assert failed == ["quarantine share (orders)"]
    assert summary["dbt_threads"] == [2]  # a database was published: an incremental run, the profile's threads
    # The run built a different as-of date, but nothing of it was published.
    assert marts_digest(database) == before


# --- a successful run ----------------------------------------------------------------------------------


def test_summary_reports_the_run(built):
    summary = built["summary"]
    assert summary["status"] == "succeeded" and summary["exit_code"] == 0
    assert summary["as_of_date"] == "2026-10-31"
    assert summary["stages"] == EXPECTED_STAGES
    assert summary["persons"] == 24
    assert summary["sources"]["orders"] == {
        "rows_read": 72,
        "quarantined": 1,
        "quarantine_share": round(1 / 72, 6),
        "top_reasons": [{"reason": "invalid_amount", "rows": 1}],
    }
    assert summary["sources"]["email_events"]["rows_read"] == 24 * 4 + 8
    # The two open carts of subscribed prospects (ended 35.7 hours before the end of the as-of date).
    assert summary["reminders_due"] == 2
    assert summary["audiences"]["abandoned_cart"] == 2
    # Subscribed prospects 21-24; 19 and 20 ignore their mail (cold): archived, so not in first_purchase.
    assert summary["audiences"]["first_purchase"] == 4
    assert set(summary["phases"]) == {"inputs", "work_copy", "dbt", "validate", "publish"}
    # a build from scratch, but of a small input: the profile's two threads
    assert summary["dbt_threads"] == [2]
    assert all(check["ok"] for check in summary["checks"])
    assert summary["outputs"]["database"] == str(built["database"])


def test_marts_hold_the_hand_computed_revenue(built):
    with duckdb.connect(str(built["database"]), read_only=True) as con:
        revenue = con.execute("select sum(net_revenue) from marts.lifecycle_summary").fetchone()[0]
    assert Decimal(str(revenue)).quantize(Decimal("0.01")) == EXPECTED_NET_REVENUE


def test_killed_run_leaves_the_published_database_then_a_rerun_gives_identical_marts(built):
    database = copy_database(built, "rerun")
    before = marts_digest(database)
    work_dir = database.parent / f".{database.name}.work"

    # A run killed (SIGKILL: no clean-up at all) while dbt is building.
    env = {**os.environ, "DBT_TARGET_PATH": str(built["work"] / "dbt-target"), "DBT_LOG_PATH": str(built["work"])}
    killed = subprocess.Popen(
        # driver_data is historic (as of 2026-10-31): report freshness, don't stop on it
        [sys.executable, str(DRIVER), "--raw-dir", str(built["raw"]), "--database", str(database),
         "--freshness", "warn"],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for line in killed.stderr:
            if " dbt [" in line:  # the first dbt node has finished
                break
        killed.kill()
    finally:
        killed.wait(timeout=60)
        killed.stderr.close()
    assert killed.returncode == -9
    assert work_dir.exists()  # the interrupted work copy is left behind ...
    assert marts_digest(database) == before  # ... and the published database is untouched and readable

    # A re-run with the same inputs while a BI tool has the published file open read-only.
    reader = duckdb.connect(str(database), read_only=True)
    try:
        result = run_driver(
            "--raw-dir", str(built["raw"]), "--database", str(database), "--as-of", AS_OF.isoformat(), "--quiet",
            "--export-dir", str(database.parent / "export"),
            work=built["work"],
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-3000:]
        assert result.stdout == ""  # --quiet: nothing but errors
        # The reader keeps reading the version it opened.
        assert reader.execute("select count(*) from marts.customer_lifecycle").fetchone()[0] == 24
    finally:
        reader.close()
    assert marts_digest(database) == before
    assert not work_dir.exists()
    # Same inputs, same as-of date: byte-identical Parquet files.
    for first in sorted(built["export"].glob("*.parquet")):
        assert (database.parent / "export" / first.name).read_bytes() == first.read_bytes(), first.name


def test_export_writes_readable_parquet_with_the_same_row_counts(built):
    export = built["export"]
    with duckdb.connect(str(built["database"]), read_only=True) as con:
        marts = [r[0] for r in con.execute("select table_name from information_schema.tables "
                                           "where table_schema = 'marts'").fetchall()]  # fmt: skip
        counts = {mart: con.execute(f"select count(*) from marts.{mart}").fetchone()[0] for mart in marts}
    assert set(MARTS) <= set(marts)
    for mart, rows in counts.items():
        assert pq.read_table(export / f"{mart}.parquet").num_rows == rows, mart
    assert counts["customer_lifecycle"] == 24
    manifest = json.loads((export / "_manifest.json").read_text())
    assert manifest["as_of_date"] == "2026-10-31" and manifest["tables"] == counts
    assert not [p for p in export.iterdir() if p.name.startswith(".tmp")]


class _Collector(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.rows: list[list[str]] = []
        self._row: list[str] | None = None
        self._cell: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "tr":
            self._row = []
        elif tag in ("td", "th"):
            self._cell = []

    def handle_endtag(self, tag):
        if tag in ("td", "th") and self._row is not None and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.append(self._row)
            self._row = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def test_report_is_self_contained_html_with_the_stage_counts(built):
    text = built["report"].read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    parser = _Collector()
    parser.feed(text)
    assert "svg" in parser.tags and parser.tags.count("svg") >= 5  # the charts, inline
    assert 'src="http' not in text and 'href="http' not in text and "<script" not in text  # opens offline
    stage_rows = {row[0]: row[1] for row in parser.rows if row and row[0] in EXPECTED_STAGES}
    assert stage_rows == {stage: str(count) for stage, count in EXPECTED_STAGES.items()}
    assert "as of 2026-10-31" in text
