"""scripts/benchmark.py --smoke: the whole benchmark on a tiny scale, so the script cannot rot.

Measures nothing worth publishing (timings are not asserted); checks that every phase ran, that the report and
chart were written, and that the hand-written floor and lifetimes agree with the pipeline. Marked `bench`: `make
bench` runs it before the scales; `make test` leaves it out (it re-runs the pipeline a dozen times, and what the
benchmark measures is checked by the other tests).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from dbt_harness import PROJECT_DIR

pytestmark = pytest.mark.bench

PHASES = [
    "full_build",
    "tests",
    "refresh",
    "refresh_with_tests",
    "refresh_single_file",
    "landing",
    "floor",
    "peer",
    "prediction",
]


@pytest.fixture(scope="module")
def smoke_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("benchmark_smoke")
    out_dir = workdir / "out"
    result = subprocess.run(
        [
            sys.executable,
            str(PROJECT_DIR / "scripts" / "benchmark.py"),
            "--smoke",
            "--data-dir",
            str(workdir / "data"),
            "--out-dir",
            str(out_dir),
        ],
        cwd=PROJECT_DIR,
        # the driver chooses the dbt threads
        env={name: value for name, value in os.environ.items() if name != "LIFECYCLE_THREADS"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return workdir, out_dir, json.loads((out_dir / "benchmarks.json").read_text())


def test_every_phase_was_measured(smoke_run):
    _, _, stored = smoke_run
    smoke = stored["scales"]["smoke"]
    for phase in PHASES:
        assert smoke[phase]["seconds"] > 0, phase
        assert smoke[phase]["max_rss_bytes"] > 10 * 1024**2, phase
        assert len(smoke[phase]["runs"]) == 1, phase
    for phase in ["refresh", "refresh_single_file"]:
        assert smoke[f"{phase}_warm_up_seconds"] > 0, phase
        before, after = smoke[f"{phase}_database_bytes"]
        assert before > 0 and after > 0, phase
    # Sampled for every build and the tests (landing, floor and peer do not write DuckDB temp files beside it).
    for phase in ["full_build", "tests", "refresh", "refresh_with_tests", "refresh_single_file"]:
        spills = smoke[phase]["spill_bytes_runs"]
        assert len(spills) == 1 and all(isinstance(b, int) and b >= 0 for b in spills), phase
    assert all("spill_bytes_runs" not in smoke[phase] for phase in ["landing", "floor", "peer", "prediction"])
    assert smoke["database_bytes"] > 0
    assert smoke["raw_parquet_bytes"] > 0
    assert smoke["rows"]["orders"] > 0


def test_history_growth_is_what_the_night_added_to_one_snapshot(smoke_run):
    _, _, stored = smoke_run
    smoke = stored["scales"]["smoke"]
    for phase in ["refresh", "refresh_single_file"]:
        growth = smoke[f"{phase}_history_growth"]
        # The night's as-of date is the last day; its base build recorded one earlier date, one snapshot.
        assert growth["as_of_date"] == smoke["last_day"] > growth["as_of_date_before"], phase
        assert growth["one_snapshot_before"] is True, phase
        assert growth["snapshot_rows"] == sum(smoke["pipeline_stage_counts"].values()), phase
        assert 0 <= growth["added_rows"] <= growth["snapshot_rows"], phase
        assert growth["rows_share"] == pytest.approx(growth["added_rows"] / growth["snapshot_rows"]), phase
        # At least one storage block (256 KiB) for the base build's snapshot.
        assert growth["snapshot_bytes"] >= 256 * 1024 and growth["added_bytes"] >= 0, phase


def test_the_benchmark_process_stays_small_so_phase_peaks_are_their_own(smoke_run):
    # A child's ru_maxrss starts at its parent's peak RSS (Linux), so the harness queries nothing itself:
    # Python alone is ~20 MiB, after one DuckDB query ~60 MiB.
    _, _, stored = smoke_run
    smoke = stored["scales"]["smoke"]
    assert 0 < smoke["harness_max_rss_bytes"] < 48 * 1024**2
    assert all(smoke[phase]["max_rss_bytes"] > smoke["harness_max_rss_bytes"] for phase in PHASES)


def test_landing_stored_every_generated_row_and_timed_each_dataset(smoke_run):
    _, _, stored = smoke_run
    landing = stored["scales"]["smoke"]["landing"]
    assert landing["rows"] == stored["scales"]["smoke"]["rows"]
    assert set(landing["dataset_seconds"]) == set(landing["rows"])
    assert landing["seconds"] == pytest.approx(sum(landing["dataset_seconds"].values()))
    assert landing["database_bytes"] > 0
    # Typed as the contract says, and every value read (the benchmark's data is clean).
    assert landing["types"]["orders"]["ordered_at"] == "TIMESTAMP"
    assert landing["types"]["orders"]["amount"] == "DECIMAL(18,2)"
    assert landing["types"]["sessions"]["page_views"] == "INTEGER"
    assert landing["types"]["email_events"]["event_id"] == "VARCHAR"
    assert landing["cast_to_null"] == {dataset: 0 for dataset in landing["rows"]}


def test_timed_builds_ran_models_but_no_tests_except_the_tested_night(smoke_run):
    _, _, stored = smoke_run
    smoke = stored["scales"]["smoke"]
    for key in ["full_build_node_types", "refresh_node_types", "refresh_single_file_node_types"]:
        assert smoke[key]["model"] > 20, key
        assert "test" not in smoke[key] and "unit_test" not in smoke[key], key
    # The same models, and the project's data tests with them.
    tested = smoke["refresh_with_tests_node_types"]
    assert tested["model"] == smoke["refresh_node_types"]["model"]
    assert tested["test"] > 50
    # The dbt threads the driver reported: the profile's two (a tiny input, even for the full build).
    for phase in ["full_build", "refresh", "refresh_with_tests", "refresh_single_file"]:
        assert smoke[phase]["dbt_threads"] == [2], phase


def test_floor_stage_counts_matched_the_pipeline(smoke_run):
    _, _, stored = smoke_run
    smoke = stored["scales"]["smoke"]
    assert smoke["floor_matches_pipeline"] is True
    assert smoke["floor_rfm_matches_pipeline"] is True
    assert smoke["floor_stage_counts"] == smoke["pipeline_stage_counts"]
    # 150 generated persons, every one of them in exactly one stage.
    assert sum(smoke["pipeline_stage_counts"].values()) == 150
    assert smoke["pipeline_stage_counts"].get("prospect", 0) > 0


def test_refresh_and_peer_agree_with_the_full_build(smoke_run):
    _, _, stored = smoke_run
    smoke = stored["scales"]["smoke"]
    assert smoke["refresh_matches_full_build"] is True
    assert smoke["refresh_single_file_matches_full_build"] is True
    comparison = smoke["peer_comparison"]
    assert comparison["match"] is True
    assert comparison["joined"] == comparison["our_rows"] > 0
    assert comparison["day_mismatches"] == 0


def test_nightly_refresh_saw_exactly_one_more_day(smoke_run):
    workdir, _, stored = smoke_run
    last_day = stored["scales"]["smoke"]["last_day"]
    import duckdb

    full = workdir / "data" / "smoke" / "full" / "orders.parquet"
    before = workdir / "data" / "smoke" / "before" / "orders.parquet"
    day = "cast(timezone('UTC', cast(ordered_at as timestamptz)) as date)"
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        [(full_last, full_rows)] = con.execute(f"select max({day}), count(*) from read_parquet('{full}')").fetchall()
        [(before_last, last_day_rows)] = con.execute(
            f"select max({day}), (select count(*) from read_parquet('{full}') where {day} = '{last_day}') "
            f"from read_parquet('{before}')"
        ).fetchall()
        [(before_rows,)] = con.execute(f"select count(*) from read_parquet('{before}')").fetchall()
        # The file the folder-layout refresh lands: that day's rows (and any stamped after it).
        landed = before.with_name("orders.last_day.parquet")
        [(landed_first, landed_rows)] = con.execute(
            f"select min({day}), count(*) from read_parquet('{landed}')"
        ).fetchall()
    assert str(full_last) == last_day
    assert before_last < full_last
    assert last_day_rows > 0
    assert before_rows == full_rows - last_day_rows
    assert str(landed_first) == last_day
    assert before_rows + landed_rows == full_rows


def test_report_and_chart_were_written(smoke_run):
    _, out_dir, stored = smoke_run
    last_day = stored["scales"]["smoke"]["last_day"]
    report = (out_dir / "benchmarks.md").read_text()
    for heading in [
        "full build",
        "tests",
        "nightly refresh",
        "floor",
        "peer",
        "peak RSS",
        "DuckDB spill to disk",
        "rows per second",
        f"stage history added by the nightly refresh (rows valid from {last_day}",
        "the same nightly refresh with its tests",
        "| full build / (landing + floor) | ",
        "| nightly refresh with its tests / floor | ",
        "| database file after the full build / raw Parquet (",
        "landing (raw files into typed DuckDB tables",
        "landing / floor",
        "History growth: after the folder refresh",
        "except landing, floor and peer",
        "Landing per dataset, last run (s): orders ",
        "values its casts turned to NULL: 0.",
        "Driver phases of the last full build (s): inputs ",
        "Driver phases of the last refresh (s): inputs ",
        "dbt threads of the driver's builds: full build 2, refresh 2, refresh with tests 2, single-file refresh 2.",
    ]:
        assert heading in report, heading
    assert "## Targets" in report
    assert "| targets at ~10M orders | not measured | not measured |" in report
    assert "smoke orders" in report
    chart = out_dir / "benchmarks.png"
    assert chart.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _benchmark_module():
    sys.path.insert(0, str(PROJECT_DIR / "scripts"))
    try:
        import benchmark
    finally:
        sys.path.pop(0)
    return benchmark


def test_slowest_nodes_are_named_by_their_name_not_their_hash():
    benchmark = _benchmark_module()
    assert benchmark.node_name("model.customer_lifecycle.int_customers__lifecycle") == "int_customers__lifecycle"
    assert benchmark.node_name("test.customer_lifecycle.unique_stg_shop__sessions_session_id.9e3137e637") == (
        "unique_stg_shop__sessions_session_id"
    )
    unit_test = "unit_test.customer_lifecycle.int_customers__lifecycle.a_lapsed_buyer"
    assert benchmark.node_name(unit_test) == "int_customers__lifecycle:a_lapsed_buyer"
    long_test = "test.customer_lifecycle.accepted_values_" + "x" * 200 + ".d04cecaea2"
    assert benchmark.node_name(long_test, width=20) == "accepted_values_xxx…"


def test_spill_bytes_counts_only_duckdb_temp_files(tmp_path):
    benchmark = _benchmark_module()
    (tmp_path / "lifecycle.duckdb").write_bytes(b"x" * 1000)
    (tmp_path / "lifecycle.duckdb.tmp").mkdir()
    (tmp_path / "lifecycle.duckdb.tmp" / "duckdb_temp_storage_DEFAULT-0.tmp").write_bytes(b"x" * 3000)
    work = tmp_path / ".lifecycle.duckdb.work" / "lifecycle.duckdb.tmp"
    work.mkdir(parents=True)
    (work / "duckdb_temp_storage_S128K-0.tmp").write_bytes(b"x" * 500)
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "run.tmp").write_bytes(b"x" * 100)
    assert benchmark.spill_bytes(tmp_path) == 3500
    assert benchmark.spill_text(None) == "—"
    assert benchmark.spill_text([0, 0]) == "none"
    assert benchmark.spill_text([0, 2 * 1024**3, 1024**3]) == "2.00 GiB peak, in 2 of 3 runs"


def test_spill_sampler_keeps_the_peak_of_a_file_that_is_gone_again(tmp_path):
    benchmark = _benchmark_module()
    temp_dir = tmp_path / "lifecycle.duckdb.tmp"
    temp_dir.mkdir()
    spill = temp_dir / "duckdb_temp_storage_DEFAULT-0.tmp"
    with benchmark.SpillSampler(tmp_path, interval=0.01) as sampler:
        spill.write_bytes(b"x" * 4096)
        deadline = time.monotonic() + 5
        while sampler.peak < 4096 and time.monotonic() < deadline:
            time.sleep(0.01)
        spill.unlink()
    assert sampler.peak == 4096


def test_prediction_phase_timed_ours_and_lifetimes_on_the_same_buyers(smoke_run):
    _, out_dir, stored = smoke_run
    smoke = stored["scales"]["smoke"]
    # The full build ran the six prediction models (too few buyers to fit there: fast, but run).
    assert set(smoke["full_build_prediction_models"]) == {
        "int_customers__backtest_facts",
        "int_btyd__fits",
        "int_customers__predictions",
        "int_customers__backtest_predictions",
        "btyd_parameters",
        "prediction_backtest",
    }
    prediction = smoke["prediction"]
    buyers = sum(count for stage, count in smoke["pipeline_stage_counts"].items() if stage != "prospect")
    assert prediction["buyers"] == buyers > 0
    assert prediction["seconds"] == pytest.approx(prediction["fit_seconds"] + prediction["score_seconds"])
    assert prediction["ours"]["bg_nbd"]["params"] is not None
    assert "lifetimes_seconds" in prediction or "lifetimes_error" in prediction
    report = (out_dir / "benchmarks.md").read_text()
    assert "| prediction models in the full build (run_results, summed: " in report
    assert "ours fit + scores vs lifetimes' fitters + scores | " in report
