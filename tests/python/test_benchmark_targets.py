"""scripts/benchmark.py's targets (issue 23) and history measure, on hand-made results: no pipeline run."""

from __future__ import annotations

import sys

import duckdb
import pytest
from dbt_harness import PROJECT_DIR

sys.path.insert(0, str(PROJECT_DIR / "scripts"))
try:
    import benchmark
finally:
    sys.path.pop(0)

GIB = 1024**3


def scale(label: str, orders: int, full: float, **extra) -> dict:
    result = {
        "label": label,
        "customers": orders // 3,
        "rows": {"orders": orders, "sessions": 3 * orders, "newsletter_signups": orders // 5, "email_events": orders},
        "last_day": "2026-10-31",
        "measured_at": "2026-12-06 14:00 UTC",
        "full_build": {"seconds": full, "runs": [full], "max_rss_bytes": 4 * GIB},
        "database_bytes": 5 * GIB,
        "raw_parquet_bytes": 2 * GIB,
    }
    return {**result, **extra}


def phase(seconds: float) -> dict:
    return {"seconds": seconds, "runs": [seconds], "max_rss_bytes": GIB}


GROWTH = {
    "as_of_date_before": "2026-10-30",
    "as_of_date": "2026-10-31",
    "added_rows": 30_000,
    "snapshot_rows": 3_000_000,
    "rows_share": 0.01,
    "added_bytes": 2 * 2**20,
    "snapshot_bytes": 100 * 2**20,
    "bytes_share": 0.02,
    "one_snapshot_before": True,
}


def large_scale() -> dict:
    return scale(
        "10M",
        10_000_000,
        150.0,
        landing={**phase(50.0), "dataset_seconds": {"orders": 50.0}, "database_bytes": GIB},
        floor=phase(30.0),
        refresh=phase(60.0),
        refresh_matches_full_build=True,
        refresh_with_tests=phase(100.0),
        refresh_history_growth=GROWTH,
        floor_matches_pipeline=True,
        floor_rfm_matches_pipeline=True,
        peer={**phase(35.0), "load_seconds": 10.0},
        peer_comparison={
            "match": True,
            "joined": 2_000_000,
            "our_rows": 2_000_000,
            "day_mismatches": 0,
            "max_monetary_diff": 0.0,
        },
    )


def rows_of(lines: list[str]) -> dict[str, list[str]]:
    """The targets table's rows, by target: [measured, met]."""
    cells = [line.strip("|").split(" | ") for line in lines[2:]]
    return {cell[0].strip(): [c.strip() for c in cell[1:]] for cell in cells}


def test_targets_are_the_issue_23_ones_each_with_its_measured_ratio():
    results = {"1M": scale("1M", 1_000_000, 15.0), "10M": large_scale()}
    rows = rows_of(benchmark.targets_table(results, {"seconds": 12.0}))
    assert rows == {
        # 150 / (50 + 30)
        "full build ≤ 2 × (landing + floor) (10M)": ["1.88 ×", "yes"],
        # 100 / 30
        "nightly refresh with its tests (the driver's default night) ≤ 3 × floor (10M)": ["3.33 ×", "**no**"],
        "history growth per nightly as-of date ≤ 2% of one full snapshot (10M, rows)": ["1.00 %", "yes"],
        "database file ≤ 3 × the raw Parquet (10M, full build)": ["2.50 ×", "yes"],
        "peak RSS ≤ 6.00 GiB (10M, full build)": ["4.00 GiB", "yes"],
        "floor stage and RFM counts = the pipeline's (10M)": ["stages yes, RFM yes", "yes"],
        "lifetimes BTYD columns = ours (10M)": ["yes", "yes"],
        "full build grows ≤ 12× from ~1M to ~10M orders": ["10.0× for 10.0× the orders", "yes"],
        "sample build (`make run`) < 30 s wall": ["12.0 s", "yes"],
    }
    text = "\n".join(benchmark.targets_table(results, None))
    assert "lifetimes' summary alone" not in text and "of the full build" not in text


def test_a_target_whose_phase_did_not_run_is_not_measured_and_a_mismatch_is_not_met():
    large = large_scale()
    for key in ("landing", "refresh_with_tests", "refresh_history_growth", "raw_parquet_bytes"):
        del large[key]
    large["floor_rfm_matches_pipeline"] = False
    rows = rows_of(benchmark.targets_table({"10M": large}, None))
    assert rows["full build ≤ 2 × (landing + floor) (10M)"] == ["—", "not measured"]
    assert rows["nightly refresh with its tests (the driver's default night) ≤ 3 × floor (10M)"] == [
        "—",
        "not measured",
    ]
    assert rows["history growth per nightly as-of date ≤ 2% of one full snapshot (10M, rows)"] == [
        "—",
        "not measured",
    ]
    assert rows["database file ≤ 3 × the raw Parquet (10M, full build)"] == ["—", "not measured"]
    assert rows["floor stage and RFM counts = the pipeline's (10M)"] == ["stages yes, RFM **NO**", "**no**"]


def test_without_a_large_scale_the_10m_targets_are_not_measured():
    rows = rows_of(benchmark.targets_table({"1M": scale("1M", 1_000_000, 15.0)}, None))
    assert rows == {"targets at ~10M orders": ["not measured", "not measured"]}


def test_the_scale_table_reports_the_ratios_history_and_database_size():
    text = "\n".join(benchmark.scale_table(large_scale()))
    assert "| full build / (landing + floor) | 1.88 × |" in text
    assert "| nightly refresh with its tests / floor | 3.33 × |" in text
    assert "| database file after the full build / raw Parquet (5.00 GiB / 2.00 GiB) | 2.50 × |" in text
    assert (
        "| stage history added by the nightly refresh (rows valid from 2026-10-31; its base build's as-of date "
        "2026-10-30) | 30,000 rows = 1.00 % of one snapshot (3,000,000 persons); storage +2.00 MiB = 2.0 % of "
        "100.00 MiB |"
    ) in text
    assert "stage history per as-of date" not in text


def history_database(path, history_rows: list[tuple], dates: list[str], persons: int) -> None:
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute("create table marts.customer_lifecycle as select range as customer_key from range(?)", [persons])
        con.execute("create table marts.stage_history_dates (as_of_date date)")
        con.executemany("insert into marts.stage_history_dates values (?)", [(d,) for d in dates])
        con.execute(
            "create table marts.customer_stage_history (customer_key bigint, valid_from date, lifecycle_stage varchar)"
        )
        con.executemany("insert into marts.customer_stage_history values (?, ?, ?)", history_rows)


def test_history_growth_counts_the_rows_valid_from_the_nights_as_of_date(tmp_path):
    snapshot = [(key, "2026-10-30", "new") for key in range(200)]
    before, after = tmp_path / "before.duckdb", tmp_path / "after.duckdb"
    history_database(before, snapshot, ["2026-10-30"], 200)
    # The night: 3 persons change stage, 2 are new.
    night = [(key, "2026-10-31", "repeat") for key in (1, 2, 3)] + [(200, "2026-10-31", "prospect")]
    night.append((201, "2026-10-31", "prospect"))
    history_database(after, snapshot + night, ["2026-10-30", "2026-10-31"], 202)
    growth = benchmark.history_growth(benchmark.stage_history(before), benchmark.stage_history(after))
    assert growth["as_of_date_before"] == "2026-10-30" and growth["as_of_date"] == "2026-10-31"
    assert (growth["added_rows"], growth["snapshot_rows"]) == (5, 202)
    assert growth["rows_share"] == pytest.approx(5 / 202)
    assert growth["one_snapshot_before"] is True
    assert growth["snapshot_bytes"] > 0 and growth["added_bytes"] >= 0


def test_a_night_in_which_nobody_changes_adds_nothing(tmp_path):
    snapshot = [(key, "2026-10-30", "new") for key in range(10)]
    before, after = tmp_path / "before.duckdb", tmp_path / "after.duckdb"
    history_database(before, snapshot, ["2026-10-30"], 10)
    history_database(after, snapshot, ["2026-10-30", "2026-10-31"], 10)
    growth = benchmark.history_growth(benchmark.stage_history(before), benchmark.stage_history(after))
    assert (growth["as_of_date"], growth["added_rows"], growth["rows_share"]) == ("2026-10-31", 0, 0)


def test_without_a_history_there_is_no_growth(tmp_path):
    database = tmp_path / "empty.duckdb"
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts")
    assert benchmark.stage_history(database) is None
    assert benchmark.history_growth(None, None) is None


def test_prediction_targets_appear_where_the_prediction_phase_ran():
    """Issue 28: the prediction models' share of the full build and our fit + scoring against lifetimes'."""
    large = large_scale()
    large["full_build_prediction_models"] = {"int_btyd__fits": 6.0, "int_customers__predictions": 3.0}
    large["prediction"] = {
        **phase(20.0),
        "fit_seconds": 14.0,
        "score_seconds": 6.0,
        "lifetimes_fit_seconds": 280.0,
        "lifetimes_score_seconds": 30.0,
        "lifetimes_seconds": 310.0,
        "buyers": 3_900_000,
        "distinct_histories": 1_300_000,
        "largest_relative_parameter_difference": 5e-7,
        "bg_nbd_log_likelihood_ours_minus_lifetimes": 0.01,
    }
    rows = rows_of(benchmark.targets_table({"10M": large}, None))
    # (6 + 3) / 150
    assert rows["prediction models ≤ 10% of the full build (10M)"] == ["6.0 %", "yes"]
    assert rows["prediction fit + scoring faster than lifetimes' BetaGeoFitter + GammaGammaFitter (10M)"] == [
        "20.0 s vs 310.0 s",
        "yes",
    ]
    text = "\n".join(benchmark.scale_table(large))
    assert "| prediction models in the full build (run_results, summed: int_btyd__fits 6.0, " in text
    assert "ours fit + scores vs lifetimes' fitters + scores | 14.0 s + 6.0 s vs 280.0 s + 30.0 s |" in text
    large["prediction"] = {**large["prediction"], "lifetimes_error": "ConvergenceError: no"}
    del large["prediction"]["lifetimes_seconds"]
    rows = rows_of(benchmark.targets_table({"10M": large}, None))
    assert rows["prediction fit + scoring faster than lifetimes' BetaGeoFitter + GammaGammaFitter (10M)"] == [
        "20.0 s vs failed",
        "not measured",
    ]
    # Without the phase (an older result), no prediction rows.
    rows = rows_of(benchmark.targets_table({"10M": large_scale()}, None))
    assert not [name for name in rows if name.startswith("prediction")]
