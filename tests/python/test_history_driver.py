"""The driver's backfill (--as-of-range/--step), freshness check (--freshness) and transitions report section,
on the hand-made three-date fixture of test_history.py (alice: repeat → at_risk → repeat)."""

from __future__ import annotations

import datetime as dt
import json
import sys

import pytest
from conftest import FIXTURES
from dbt_harness import PROJECT_DIR, query
from test_run_pipeline import run_driver

sys.path.insert(0, str(PROJECT_DIR))
from lifecycle_pipeline.errors import EXIT_STALE_INPUT, InputError  # noqa: E402
from lifecycle_pipeline.inputs import parse_as_of_range  # noqa: E402

RAW = FIXTURES / "history_raw"


def test_as_of_range_steps_and_always_ends_on_end():
    assert parse_as_of_range("2024-01-25", "2024-02-06", "9d") == [
        dt.date(2024, 1, 25),
        dt.date(2024, 2, 3),
        dt.date(2024, 2, 6),
    ]
    weekly = parse_as_of_range("2026-08-15", "2026-10-31", "1w")
    assert len(weekly) == 12
    assert weekly[0] == dt.date(2026, 8, 15)
    assert weekly[-1] == dt.date(2026, 10, 31)
    assert parse_as_of_range("2024-01-01", "2024-01-01", "7d") == [dt.date(2024, 1, 1)]


@pytest.mark.parametrize("bad", [("2024-01-01", "2024-02-01", "7"), ("2024-01-01", "2024-02-01", "0d"),
                                 ("2024-02-01", "2024-01-01", "7d"), ("2024-01-01", "2024-02-30", "7d")])  # fmt: skip
def test_bad_ranges_are_bad_input(bad):
    with pytest.raises(InputError):
        parse_as_of_range(*bad)


def test_backfill_builds_history_and_the_report_draws_the_transitions(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    report = tmp_path / "report.html"
    args = ["--raw-dir", str(RAW), "--database", str(database), "--report", str(report), "--json"]
    result = run_driver(*args, "--as-of-range", "2024-01-25", "2024-02-06", "--step", "9d", work=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # persons known on each recorded date: with a history row at or before it (nobody leaves in this fixture)
    known_per_date = """
        select dates.as_of_date, count(distinct history.customer_key)
        from marts.stage_history_dates as dates
        inner join marts.customer_stage_history as history on history.valid_from <= dates.as_of_date
        group by 1 order by 1
    """
    assert query(database, known_per_date) == [
        (dt.date(2024, 1, 25), 2),
        (dt.date(2024, 2, 3), 3),
        (dt.date(2024, 2, 6), 3),
    ]
    assert query(database, "select distinct as_of_date from marts.customer_lifecycle") == [(dt.date(2024, 2, 6),)]
    html = report.read_text()
    section = html[html.index("Stage transitions") :]
    # Feb 3 → Feb 6: bob stays new, carol stays prospect, alice goes from at_risk back to repeat.
    assert "From 2024-02-03 to 2024-02-06: 2 persons stayed in their stage, 1 moved, 0 became known." in section
    assert "at_risk → repeat" in section
    assert "<svg" in section[: section.index("</section>")]
    # historic data: freshness is reported, not enforced
    summary = json.loads(result.stdout)
    assert summary["freshness"]["orders"]["status"] == "error"
    assert summary["freshness"]["orders"]["newest"].startswith("2024-02-05T10:00:00")


def test_stale_raw_data_fails_the_run_before_building(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    result = run_driver("--raw-dir", str(RAW), "--database", str(database), "--freshness", "error", work=tmp_path)
    assert result.returncode == EXIT_STALE_INPUT
    assert "stale beyond freshness_error_after_hours" in result.stderr
    assert "orders: newest usable timestamp 2024-02-05" in result.stderr
    assert not database.exists()
