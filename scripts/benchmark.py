"""Benchmark the pipeline at scale: full build, nightly refresh, tests, a hand-written floor and a peer.

For every scale (target number of orders) the script generates Parquet data once (cached under data/bench/),
then measures, each phase in its own child process:

  full_build  the driver's full-refresh build of every model, tests excluded
  tests       the dbt tests on that build, timed separately
  refresh     one more day of data landed as a new file in each dataset's folder, then the normal build
              (design 2: landing appends the new files' rows, the stage history appends its changes, every
              other model is rebuilt from the landed rows); one untimed run first, so the timed ones start
              with dbt's parse warm
  refresh_with_tests  the same night with its dbt tests, as the driver runs it by default (`dbt build`);
              timed on the same base build as `refresh`, after it
  refresh_single_file  the same day appended to the one-file-per-dataset layout (every file rewritten)
  landing     the raw files copied into DuckDB tables with the contract's column types, nothing else (no
              checks, normalising, de-duplication or quarantine): what staging pays at least to store its rows
  floor       a hand-written DuckDB script computing the core of customer_lifecycle straight from the raw
              files; its stage counts must equal the pipeline's
  peer        lifetimes.utils.summary_data_from_transaction_data (pandas) on the same orders, compared with
              the pipeline's BTYD columns
  prediction  on the full build's BTYD summary (customer_lifecycle's frequency, recency, T, value of every
              buyer): our BG/NBD + Gamma-Gamma fit and scoring (lifecycle_pipeline/prediction.py, as the dbt
              Python models run it) against lifetimes' BetaGeoFitter + GammaGammaFitter fit and scoring; the
              prediction models' share of the full build comes from its run_results.json

Besides time and memory it measures the database file after the full build against the scale's raw Parquet
files, and what one night adds to marts.customer_stage_history (the rows valid from the night's as-of date, one
day after the base build's) against one full snapshot (the persons in marts.customer_lifecycle).

A phase that takes under 60 s is repeated (median of --repeats runs, default 3). Time is wall-clock seconds
of the child process (dbt's start-up included), except landing, floor and peer, which report the time of their
queries / function call alone (so the comparison is as strict as possible for the pipeline). Peak memory is the
maximum resident set size of the child process (os.wait4 → ru_maxrss, which covers the process and any
children it waited for). Linux starts that count at the benchmark process's own peak, so the benchmark runs
its own DuckDB queries in processes of their own (in_own_process) and reports its peak beside the phases'.

Results are kept in docs/benchmarks.json (merged across runs, one entry per scale) and rendered into
docs/benchmarks.md and docs/benchmarks.png. Text below the `<!-- notes -->` line of docs/benchmarks.md is
hand-written and kept when the report is regenerated.

    python scripts/benchmark.py                       # ~100k, ~1M, ~10M orders
    python scripts/benchmark.py --scales 100k,1M      # a subset
    python scripts/benchmark.py --smoke --out-dir /tmp/x   # tiny, for the test suite
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import functools
import hashlib
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
DEFAULT_GENERATOR = PROJECT_DIR / "scripts" / "generate_data.py"
DRIVER = PROJECT_DIR / "scripts" / "run_pipeline.py"
DATASETS = {
    "orders": "ordered_at",
    "sessions": "started_at",
    "newsletter_signups": "signed_up_at",
    "email_events": "occurred_at",
}
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
    "spark",
]
# Other engines (docs/engines.md): full build and nightly refresh, at scales up to this many orders (~1M; a 10M
# build on a second engine would take hours on the benchmark machine).
ENGINES = ["postgres"]
ENGINE_MAX_ORDERS = 2_000_000
# The Spark phase (scripts/bench_spark.py, local[2]) runs up to this many orders: ~1M, not the 10M scale.
SPARK_MAX_ORDERS = 1_500_000
# In the "before" folder beside NAME.parquet (all rows but the last day's): that day's rows.
LAST_DAY_SUFFIX = ".last_day.parquet"
STAGES = ["prospect", "new", "repeat", "at_risk", "lapsed"]
SLOW_SECONDS = 60.0
DEFAULT_SCALES = "100k,1M,10M"
SEED = 42
CALIBRATION_CUSTOMERS = 3000
NOTES_MARKER = "<!-- notes -->"

# Lifecycle thresholds, the dbt vars' defaults (docs/lifecycle-definitions.md); the floor uses the same.
MIN_INTERVAL_DAYS = 7
AT_RISK_FACTOR = 1.1
LAPSED_FACTOR = 2.0

# Targets at ~10M orders (issue 23, design 2).
TARGET_FULL_OVER_LANDING_AND_FLOOR = 2.0
TARGET_NIGHT_WITH_TESTS_OVER_FLOOR = 3.0
TARGET_HISTORY_GROWTH_PER_NIGHT = 0.02
TARGET_DATABASE_OVER_RAW_PARQUET = 3.0
TARGET_RSS_BYTES = 6 * 1024**3
TARGET_GROWTH_1M_TO_10M = 12.0
TARGET_SAMPLE_SECONDS = 30.0
# Issue 28: the prediction models' time in the full build, as a share of it.
TARGET_PREDICTION_SHARE_OF_FULL_BUILD = 0.10
# dbt models of the prediction (models/*/prediction/), timed from the full build's run_results.json.
PREDICTION_MODELS = (
    "int_customers__backtest_facts",
    "int_btyd__fits",
    "int_customers__predictions",
    "int_customers__backtest_predictions",
    "btyd_parameters",
    "prediction_backtest",
)
PREDICTION_HORIZON_DAYS = 90


# --------------------------------------------------------------------------------------------------------
# Child processes, timing and memory
# --------------------------------------------------------------------------------------------------------


@dataclass
class ChildRun:
    seconds: float
    max_rss_bytes: int
    payload: dict = field(default_factory=dict)
    spill_bytes: int | None = None


def spill_bytes(folder: Path) -> int:
    """Bytes in DuckDB's temp files under `folder`: the files in its `<database>.tmp` folders (the driver's work
    copy has its own beside it)."""
    total = 0
    for path in folder.rglob("*"):
        try:
            if path.parent.name.endswith(".tmp") and path.is_file():
                total += path.stat().st_size
        except OSError:  # DuckDB deleted it between the listing and the stat
            pass
    return total


class SpillSampler:
    """The peak of `spill_bytes(folder)` while a child runs, sampled every `interval` seconds (a lower bound:
    a shorter spill can fall between two samples). A query that spills to disk is slower by its writes and
    reads, and shows nowhere in dbt's output or run_results.json."""

    def __init__(self, folder: Path, interval: float = 0.2):
        self.folder, self.interval, self.peak = folder, interval, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, name="spill-sampler", daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, spill_bytes(self.folder))

    def __enter__(self) -> SpillSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def run_child(
    command: list[str],
    log_path: Path,
    env: dict | None = None,
    result_path: Path | None = None,
    json_stdout: bool = False,
    spill_dir: Path | None = None,
) -> ChildRun:
    """Run one command, return its wall time, its peak RSS, its JSON result (a file, or its stdout) and, with
    `spill_dir` (the database's folder), the peak bytes DuckDB spilled to its temp files."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if result_path is not None and result_path.exists():
        result_path.unlink()
    stdout_path = log_path.with_suffix(".stdout")
    sampler = SpillSampler(spill_dir) if spill_dir is not None else contextlib.nullcontext()
    with log_path.open("w") as log, stdout_path.open("w") as stdout, sampler:
        start = time.perf_counter()
        process = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=stdout if json_stdout else log, stderr=log)
        # wait4 (not Popen.wait) so that the child's own resource usage comes back with its exit status.
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        tail = (log_path.read_text() + stdout_path.read_text())[-4000:]
        raise RuntimeError(f"{' '.join(command)} failed (exit {process.returncode}); log {log_path}:\n{tail}")
    payload = {}
    if result_path is not None:
        payload = json.loads(result_path.read_text())
    elif json_stdout:
        payload = json.loads(stdout_path.read_text())
    # Linux reports ru_maxrss in KiB.
    spilled = sampler.peak if spill_dir is not None else None
    return ChildRun(seconds=seconds, max_rss_bytes=usage.ru_maxrss * 1024, payload=payload, spill_bytes=spilled)


def repeated(measure, repeats: int, prepare=None) -> list[ChildRun]:
    """Run `measure` once; if it took under SLOW_SECONDS run it until there are `repeats` runs."""
    runs: list[ChildRun] = []
    while True:
        if prepare is not None:
            prepare()
        runs.append(measure())
        if len(runs) >= repeats or runs[0].seconds >= SLOW_SECONDS:
            return runs


def summarise(runs: list[ChildRun], key: str | None = None) -> dict:
    """Median seconds (of the payload's `key` when given, else the wall time), all runs, peak RSS."""
    seconds = [run.payload[key] if key else run.seconds for run in runs]
    summary = {
        "seconds": statistics.median(seconds),
        "runs": [round(s, 3) for s in seconds],
        "wall_seconds": statistics.median(run.seconds for run in runs),
        "max_rss_bytes": max(run.max_rss_bytes for run in runs),
    }
    if all(run.spill_bytes is not None for run in runs):
        summary["spill_bytes_runs"] = [run.spill_bytes for run in runs]
    return summary


def in_own_process(function, *paths: Path):
    """function(*paths) in a Python process of its own; its result comes back as JSON. On Linux a child that
    subprocess starts (vfork, then exec) begins its ru_maxrss at its parent's peak RSS, so a harness that ran
    a large DuckDB query itself would lift every later phase's measured peak to its own (the 10M peaks all
    read 5.00 GiB once the split below ran in the harness). The harness's own queries run here instead."""
    command = [sys.executable, __file__, "_call", function.__name__, *map(str, paths)]
    result = subprocess.run(command, cwd=PROJECT_DIR, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"{function.__name__} failed (exit {result.returncode}):\n{result.stderr[-4000:]}")
    return json.loads(result.stdout)


def harness_max_rss_bytes() -> int:
    """This process's own peak RSS, the least any child's measured peak can be (see in_own_process). Linux's
    VmHWM, not ru_maxrss: that one starts at the peak of whatever started this process (pytest, make)."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


# --------------------------------------------------------------------------------------------------------
# Data: generation (cached) and the "one day less" copy for the nightly refresh
# --------------------------------------------------------------------------------------------------------


def parse_scale(label: str) -> int:
    text = label.strip().lower()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1], 1)
    number = text[:-1] if factor > 1 else text
    return int(float(number) * factor)


def generate(out_dir: Path, customers: int, log_dir: Path, generator: Path = DEFAULT_GENERATOR) -> dict:
    """Generate clean Parquet data for `customers` into out_dir, unless the same data is already there."""
    marker = out_dir / "benchmark_generation.json"
    # The generator's own text is part of the cache key: a changed generator makes new data.
    generator_sha = hashlib.sha256(generator.read_bytes()).hexdigest()[:16]
    wanted = {"customers": customers, "seed": SEED, "format": "parquet", "dirty_share": 0, "generator": generator_sha}
    if marker.exists() and json.loads(marker.read_text()) == wanted and (out_dir / "orders.parquet").exists():
        return json.loads((out_dir / "generation_summary.json").read_text())
    if out_dir.exists():
        shutil.rmtree(out_dir)
    command = [
        sys.executable,
        str(generator),
        "--out",
        str(out_dir),
        "--customers",
        str(customers),
        "--seed",
        str(SEED),
        "--format",
        "parquet",
        "--dirty-share",
        "0",
    ]
    run = run_child(command, log_dir / f"generate-{customers}.log")
    wanted["generation_seconds"] = round(run.seconds, 1)
    marker.write_text(json.dumps({k: v for k, v in wanted.items() if k != "generation_seconds"}))
    summary = json.loads((out_dir / "generation_summary.json").read_text())
    summary["benchmark_generation_seconds"] = wanted["generation_seconds"]
    (out_dir / "generation_summary.json").write_text(json.dumps(summary, indent=2))
    return summary


def utc_date_expression(column: str, column_type: str) -> str:
    """SQL for the UTC calendar date of a raw timestamp column, whatever type the Parquet file gave it."""
    quoted = f'"{column}"'
    if column_type.upper().startswith("TIMESTAMP WITH TIME ZONE"):
        return f"cast(timezone('UTC', {quoted}) as date)"
    if column_type.upper().startswith("TIMESTAMP"):
        return f"cast({quoted} as date)"
    if column_type.upper() == "DATE":
        return quoted
    return f"cast(timezone('UTC', try_cast(trim(cast({quoted} as varchar)) as timestamptz)) as date)"


def column_types(con, path: Path) -> dict[str, str]:
    rows = con.execute("describe select * from read_parquet(?)", [str(path)]).fetchall()
    return {name: column_type for name, column_type, *_ in rows}


def last_order_day(full_dir: Path) -> str:
    """The latest UTC order date in full_dir (the as-of date of a build on it)."""
    import duckdb

    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        orders = full_dir / "orders.parquet"
        day = utc_date_expression("ordered_at", column_types(con, orders)["ordered_at"])
        [(last_day,)] = con.execute(f"select max({day}) from read_parquet(?)", [str(orders)]).fetchall()
    return str(last_day)


def split_last_day(full_dir: Path, before_dir: Path) -> str:
    """Copy full_dir to before_dir without the rows of the last order day (UTC), and that day's rows beside
    each file as NAME.last_day.parquet; return that day."""
    import duckdb

    marker = before_dir / "benchmark_split.json"
    up_to_date = marker.exists() and (full_dir / "benchmark_generation.json").stat().st_mtime <= marker.stat().st_mtime
    if up_to_date and all((before_dir / f"{dataset}{LAST_DAY_SUFFIX}").exists() for dataset in DATASETS):
        return json.loads(marker.read_text())["last_day"]
    if before_dir.exists():
        shutil.rmtree(before_dir)
    before_dir.mkdir(parents=True)
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    orders = full_dir / "orders.parquet"
    last_day_sql = utc_date_expression("ordered_at", column_types(con, orders)["ordered_at"])
    [(last_day,)] = con.execute(f"select max({last_day_sql}) from read_parquet(?)", [str(orders)]).fetchall()
    for dataset, time_column in DATASETS.items():
        source = full_dir / f"{dataset}.parquet"
        day = utc_date_expression(time_column, column_types(con, source)[time_column])
        # Rows whose timestamp does not parse stay (they are quarantined either way).
        con.execute(
            f"copy (select * from read_parquet('{source}') where {day} is null or {day} < date '{last_day}') "
            f"to '{before_dir / f'{dataset}.parquet'}' (format parquet)"
        )
        # The rows the refresh adds, as the one new file an EL tool would land in a dataset folder.
        con.execute(
            f"copy (select * from read_parquet('{source}') where {day} >= date '{last_day}') "
            f"to '{before_dir / f'{dataset}{LAST_DAY_SUFFIX}'}' (format parquet)"
        )
    con.close()
    marker.write_text(json.dumps({"last_day": str(last_day)}))
    return str(last_day)


# --------------------------------------------------------------------------------------------------------
# The pipeline (driver / dbt) as child processes
# --------------------------------------------------------------------------------------------------------


def dbt_env(raw_dir: Path, database: Path, work_dir: Path) -> dict:
    return {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_DIR / "profiles"),
        "LIFECYCLE_RAW_DIR": str(raw_dir),
        "LIFECYCLE_DUCKDB_PATH": str(database),
        "DBT_TARGET_PATH": str(work_dir / "dbt-target"),
        "DBT_LOG_PATH": str(work_dir / "dbt-logs"),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        # the driver's release (runs with tests): in the work folder, not the project's output/
        "LIFECYCLE_RELEASE_DIR": str(work_dir / "releases"),
        "LIFECYCLE_ACTIVATION_DIR": str(work_dir / "activation"),
    }


def dbt_command(*args: str) -> list[str]:
    return [str(Path(sys.executable).parent / "dbt"), *args, "--project-dir", str(PROJECT_DIR)]


def driver_help() -> str:
    return subprocess.run(
        [sys.executable, str(DRIVER), "--help"], cwd=PROJECT_DIR, capture_output=True, text=True
    ).stdout


def driver_supports_selection() -> bool:
    """True when scripts/run_pipeline.py has --full-refresh, --skip-tests and --json (the full driver)."""
    return all(option in driver_help() for option in ["--full-refresh", "--skip-tests", "--json"])


def build(
    raw_dir: Path, database: Path, work_dir: Path, full_refresh: bool, log_path: Path, with_tests: bool = False
) -> ChildRun:
    """The build of every model, tests excluded unless `with_tests` (they are timed on their own): full refresh
    or normal.

    Through the driver (input checks, dbt into a work copy, output validation, atomic publish) when it has
    the options for it; otherwise plain `dbt run`.
    """
    env = dbt_env(raw_dir, database, work_dir)
    if driver_supports_selection():
        command = [sys.executable, str(DRIVER), "--raw-dir", str(raw_dir), "--database", str(database)]
        command += ["--quiet", "--json"] + ([] if with_tests else ["--skip-tests"])
        # The benchmark's data is historic on purpose (a fixed end date): staleness is not an error here.
        command += ["--freshness", "warn"] if "--freshness" in driver_help() else []
        command += ["--full-refresh"] if full_refresh else []
        return run_child(command, log_path, env, json_stdout=True, spill_dir=database.parent)
    command = dbt_command("build" if with_tests else "run", *(["--full-refresh"] if full_refresh else []))
    return run_child(command, log_path, env, spill_dir=database.parent)


def remove_database(database: Path) -> None:
    for path in (database, database.with_name(database.name + ".wal")):
        if path.exists():
            path.unlink()


def slowest_models(work_dir: Path, top: int = 8) -> list[list]:
    run_results = work_dir / "dbt-target" / "run_results.json"
    if not run_results.exists():
        return []
    results = json.loads(run_results.read_text())["results"]
    ranked = sorted(results, key=lambda r: r.get("execution_time") or 0, reverse=True)[:top]
    return [[node_name(r["unique_id"]), round(r.get("execution_time") or 0, 2)] for r in ranked]


def node_name(unique_id: str, width: int = 70) -> str:
    """The node's name from its dbt unique_id: type.project.name[.hash or version], or for a unit test
    unit_test.project.model.test (its model and name); a generic test's long generated name is cut to `width`."""
    parts = unique_id.split(".")
    name = f"{parts[2]}:{parts[3]}" if parts[0] == "unit_test" else parts[2]
    return name if len(name) <= width else name[: width - 1] + "…"


def built_node_types(work_dir: Path) -> dict[str, int]:
    """How many nodes of each resource type the last dbt invocation ran (e.g. {"model": 30, "operation": 1}):
    proves that a timed build ran no tests."""
    run_results = work_dir / "dbt-target" / "run_results.json"
    if not run_results.exists():
        return {}
    results = json.loads(run_results.read_text())["results"]
    return dict(sorted(Counter(r["unique_id"].split(".")[0] for r in results).items()))


# Buyers per (R, F, M) score combination, e.g. {"5-3-4": 120}: compares the floor's RFM with the pipeline's.
RFM_COUNTS_SQL = """
select concat_ws('-', cast(r_score as integer), cast(f_score as integer), cast(m_score as integer)), count(*)
from {table}
where r_score is not null
group by all
"""


def rfm_counts(database: Path) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        return dict(con.execute(RFM_COUNTS_SQL.format(table="marts.customer_lifecycle")).fetchall())


def has_mart(database: Path, table: str) -> bool:
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        [(found,)] = con.execute(
            "select count(*) from information_schema.tables where table_schema = 'marts' and table_name = ?",
            [table],
        ).fetchall()
    return found > 0


def stage_counts(database: Path) -> dict[str, int] | None:
    """Persons per lifecycle_stage in marts.customer_lifecycle; None while that mart does not exist yet."""
    import duckdb

    if not has_mart(database, "customer_lifecycle"):
        return None
    with duckdb.connect(str(database), read_only=True) as con:
        rows = con.execute(
            "select lifecycle_stage, count(*) from marts.customer_lifecycle group by lifecycle_stage"
        ).fetchall()
    return {stage: count for stage, count in rows}


def stage_history(database: Path) -> dict | None:
    """What marts.customer_stage_history holds (design 2: one row per person per change, from `valid_from`): its
    latest recorded as-of date (marts.stage_history_dates), the rows valid from that date (what the run of that
    date added), all its rows and its storage (blocks × block size), beside the persons in
    marts.customer_lifecycle (one full snapshot); None without the history."""
    import duckdb

    if not has_mart(database, "customer_stage_history"):
        return None
    with duckdb.connect(str(database), read_only=True) as con:
        [(as_of_date, recorded_dates)] = con.execute(
            "select max(as_of_date), count(*) from marts.stage_history_dates"
        ).fetchall()
        [(added_rows, rows)] = con.execute(
            "select count(*) filter (where valid_from = ?), count(*) from marts.customer_stage_history", [as_of_date]
        ).fetchall()
        [(persons,)] = con.execute("select count(*) from marts.customer_lifecycle").fetchall()
        [(blocks,)] = con.execute(
            "select count(distinct block_id) from pragma_storage_info('marts.customer_stage_history') "
            "where block_id >= 0"
        ).fetchall()
        [(block_size,)] = con.execute("select block_size from pragma_database_size()").fetchall()
    return {
        "as_of_date": str(as_of_date),
        "recorded_dates": recorded_dates,
        "added_rows": added_rows,
        "rows": rows,
        "snapshot_rows": persons,
        "bytes": blocks * block_size,
    }


def history_growth(before: dict | None, after: dict | None) -> dict | None:
    """What one night added to the stage history, against one full snapshot: `before` is the history of a full
    build (one recorded as-of date, so exactly one snapshot), `after` the same database after the night. Rows:
    the rows valid from the night's as-of date over the persons in customer_lifecycle; bytes: the history's
    growth in storage over its size after the full build (256 KiB blocks: coarse on small data)."""
    if before is None or after is None:
        return None
    return {
        "as_of_date_before": before["as_of_date"],
        "as_of_date": after["as_of_date"],
        "added_rows": after["added_rows"],
        "snapshot_rows": after["snapshot_rows"],
        "rows_share": ratio(after["added_rows"], after["snapshot_rows"]),
        "added_bytes": after["bytes"] - before["bytes"],
        "snapshot_bytes": before["bytes"],
        "bytes_share": ratio(after["bytes"] - before["bytes"], before["bytes"]),
        "one_snapshot_before": before["recorded_dates"] == 1 and before["rows"] == before["snapshot_rows"],
    }


# --------------------------------------------------------------------------------------------------------
# Floor: the core of customer_lifecycle in one hand-written DuckDB statement
# --------------------------------------------------------------------------------------------------------


def floor_sql(raw_dir: Path, types: dict[str, dict[str, str]]) -> str:
    """One CREATE TABLE … AS statement, straight from the raw Parquet files.

    Same definitions as docs/lifecycle-definitions.md and rfm-segments.md: as-of = latest order date;
    purchases = completed orders; a purchase day is a UTC date; expected interval = max(avg gap, floor) for
    repeat buyers and the median first-to-second gap (same floor) for one-time buyers; stages by
    overdue_ratio; RFM = 1 + floor(5 × percent_rank) in the better direction, capped at 5. Persons are
    normalised emails seen on orders, identified sessions or signups up to the as-of date (a session linked
    only through a customer_id or visitor_id belongs to an email that is already seen elsewhere). It relies on
    clean data (the benchmark generates it with --dirty-share 0): no quarantine rules, no de-duplication.
    DuckDB-only syntax is fine here: this is the yardstick, not a model.
    """

    def read(dataset: str) -> str:
        return f"read_parquet('{raw_dir / f'{dataset}.parquet'}')"

    def timestamp(dataset: str, column: str) -> str:
        column_type = types[dataset][column].upper()
        if column_type.startswith("TIMESTAMP WITH TIME ZONE"):
            return f"timezone('UTC', {column})"
        if column_type.startswith("TIMESTAMP"):
            return column
        return f"timezone('UTC', cast({column} as timestamptz))"

    def email(dataset: str) -> str:
        return "lower(trim(email))"

    amount = "amount" if types["orders"]["amount"].upper().startswith("DECIMAL") else "cast(amount as decimal(18, 2))"
    return f"""
create or replace table floor_lifecycle as
with
orders as (
    select {email("orders")} as email, lower(trim(status)) as status, {amount} as amount,
        {timestamp("orders", "ordered_at")} as ordered_at
    from {read("orders")}
),
as_of as (
    select cast(max(ordered_at) as date) as as_of_date, cast(max(ordered_at) as date) + 1 as as_of_end
    from orders
),
known as (
    select email from orders, as_of where ordered_at < as_of_end
    union
    select {email("sessions")} from {read("sessions")}, as_of
    where email is not null and {timestamp("sessions", "started_at")} < as_of_end
    union
    select {email("newsletter_signups")} from {read("newsletter_signups")}, as_of
    where {timestamp("newsletter_signups", "signed_up_at")} < as_of_end
),
days as (
    select email, cast(ordered_at as date) as purchase_date, count(*) as orders, sum(amount) as amount
    from orders, as_of
    where status = 'completed' and ordered_at < as_of_end
    group by all
),
gaps as (
    select *, purchase_date - lag(purchase_date) over (partition by email order by purchase_date) as gap
    from days
),
buyers as (
    select
        email,
        count(*) as purchase_days,
        sum(orders) as order_count,
        sum(amount) as net_revenue,
        min(purchase_date) as first_order_date,
        max(purchase_date) as last_order_date,
        coalesce((sum(amount) - arg_min(amount, purchase_date)) / nullif(count(*) - 1, 0), 0)
            as avg_repeat_order_value,
        avg(gap) as avg_interval_days,
        median(gap) as median_interval_days,
        stddev_samp(gap) as stddev_interval_days,
        arg_min(gap, purchase_date) filter (where gap is not null) as first_gap_days
    from gaps
    group by email
),
one_time_interval as (
    select greatest(coalesce(median(first_gap_days), {MIN_INTERVAL_DAYS}), {MIN_INTERVAL_DAYS}) as days
    from buyers
    where purchase_days > 1
),
facts as (
    select
        buyers.*,
        purchase_days - 1 as frequency,
        last_order_date - first_order_date as recency_days,
        as_of_date - first_order_date as tenure_days,
        as_of_date - last_order_date as days_since_last_order,
        case when purchase_days = 1 then one_time_interval.days
            else greatest(avg_interval_days, {MIN_INTERVAL_DAYS}) end as expected_interval_days
    from buyers, as_of, one_time_interval
),
scored as (
    select
        *,
        days_since_last_order / expected_interval_days as overdue_ratio,
        case
            when days_since_last_order / expected_interval_days > {LAPSED_FACTOR} then 'lapsed'
            when days_since_last_order / expected_interval_days > {AT_RISK_FACTOR} then 'at_risk'
            when purchase_days = 1 then 'new'
            else 'repeat'
        end as lifecycle_stage,
        least(5, 1 + floor(5 * percent_rank() over (order by days_since_last_order desc))) as r_score,
        least(5, 1 + floor(5 * percent_rank() over (order by purchase_days))) as f_score,
        least(5, 1 + floor(5 * percent_rank() over (order by net_revenue))) as m_score
    from facts
)
select * from scored
union all by name
select email, 'prospect' as lifecycle_stage
from known
where email not in (select email from buyers)
"""


def floor_child(raw_dir: Path, database: Path, result_path: Path) -> None:
    import duckdb

    remove_database(database)
    con = duckdb.connect(str(database))
    con.execute("set TimeZone = 'UTC'")
    types = {dataset: column_types(con, raw_dir / f"{dataset}.parquet") for dataset in DATASETS}
    sql = floor_sql(raw_dir, types)
    start = time.perf_counter()
    con.execute(sql)
    seconds = time.perf_counter() - start
    counts = dict(con.execute("select lifecycle_stage, count(*) from floor_lifecycle group by all").fetchall())
    rfm = con.execute(RFM_COUNTS_SQL.format(table="floor_lifecycle")).fetchall()
    con.close()
    result_path.write_text(json.dumps({"seconds": seconds, "stage_counts": counts, "rfm_counts": dict(rfm)}))


# --------------------------------------------------------------------------------------------------------
# Landing: the raw rows stored once, typed
# --------------------------------------------------------------------------------------------------------


# The raw contract's non-text columns and their types (docs/raw-data-contract.md); every other column is text.
LANDING_TYPES = {
    "orders": {"ordered_at": "timestamp", "amount": "decimal(18, 2)"},
    "sessions": {
        "started_at": "timestamp",
        "ended_at": "timestamp",
        "page_views": "integer",
        "cart_adds": "integer",
        "cart_value": "decimal(18, 2)",
    },
    "newsletter_signups": {"signed_up_at": "timestamp", "unsubscribed_at": "timestamp"},
    "email_events": {"occurred_at": "timestamp"},
}


def landing_child(raw_dir: Path, database: Path, result_path: Path) -> None:
    """Every raw file into a table of its own with the contract's column types (CREATE TABLE AS SELECT with
    try_cast, then a checkpoint), at the profile's DuckDB settings. Staging stores at least this: every raw row
    once, typed (stored as text, the timestamps and numbers made the sessions 50 % slower to write). It also
    checks, normalises, de-duplicates and keeps a quarantine record, which landing does not."""
    import duckdb

    remove_database(database)
    settings = {
        "memory_limit": os.environ.get("LIFECYCLE_DUCKDB_MEMORY_LIMIT", "4GB"),
        "preserve_insertion_order": False,
    }
    con = duckdb.connect(str(database), config=settings)
    seconds, rows, cast_to_null, types = {}, {}, {}, {}
    for dataset in DATASETS:
        source = f"read_parquet('{raw_dir / f'{dataset}.parquet'}')"
        columns = [row[0] for row in con.execute(f"describe select * from {source}").fetchall()]
        casts = {c: f"try_cast({c} as {t})" for c, t in LANDING_TYPES[dataset].items() if c in columns}
        select = ", ".join(f"{casts[c]} as {c}" if c in casts else c for c in columns)
        start = time.perf_counter()
        con.execute(f"create table {dataset} as select {select} from {source}")
        con.execute("checkpoint")
        seconds[dataset] = time.perf_counter() - start
        [(rows[dataset],)] = con.execute(f"select count(*) from {dataset}").fetchall()
        # A value try_cast could not read would be stored as NULL, which is cheaper: count them (0 on clean data).
        lost = " + ".join(f"count({c}) - count({cast})" for c, cast in casts.items())
        [(cast_to_null[dataset],)] = con.execute(f"select {lost or '0'} from {source}").fetchall()
        types[dataset] = dict(
            con.execute(
                "select column_name, data_type from information_schema.columns where table_name = ?", [dataset]
            ).fetchall()
        )
    con.close()
    result = {"seconds": sum(seconds.values()), "dataset_seconds": seconds, "rows": rows}
    result.update(cast_to_null=cast_to_null, types=types)
    result["database_bytes"] = file_size(database)
    result_path.write_text(json.dumps(result))


# --------------------------------------------------------------------------------------------------------
# Peer: lifetimes' BTYD summary on the same orders
# --------------------------------------------------------------------------------------------------------


def peer_child(raw_dir: Path, out_path: Path, result_path: Path) -> None:
    import pandas as pd
    from lifetimes.utils import summary_data_from_transaction_data

    start = time.perf_counter()
    orders = pd.read_parquet(raw_dir / "orders.parquet", columns=["email", "status", "ordered_at", "amount"])
    ordered_at = orders["ordered_at"]
    if not pd.api.types.is_datetime64_any_dtype(ordered_at):
        ordered_at = pd.to_datetime(ordered_at, utc=True, format="ISO8601")
    if getattr(ordered_at.dt, "tz", None) is not None:
        ordered_at = ordered_at.dt.tz_convert("UTC").dt.tz_localize(None)
    completed = orders["status"].str.strip().str.lower() == "completed"
    transactions = pd.DataFrame(
        {
            "email": orders["email"].str.strip().str.lower()[completed],
            "ordered_at": ordered_at[completed],
            "amount": pd.to_numeric(orders["amount"][completed]).astype("float64"),
        }
    )
    as_of_date = ordered_at.max().normalize()
    load_seconds = time.perf_counter() - start

    start = time.perf_counter()
    summary = summary_data_from_transaction_data(
        transactions,
        "email",
        "ordered_at",
        monetary_value_col="amount",
        observation_period_end=as_of_date,
        freq="D",
    )
    seconds = time.perf_counter() - start
    summary.reset_index().to_parquet(out_path, index=False)
    result_path.write_text(
        json.dumps({"seconds": seconds, "load_seconds": load_seconds, "customers": int(len(summary))})
    )


def compare_with_peer(database: Path, peer_path: Path) -> dict:
    """Join lifetimes' summary, by email (int_persons__identified), to marts.customer_lifecycle; count mismatches."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        [row] = con.execute(
            f"""
            with persons as (
                select email, customer_key from intermediate.int_persons__identified
            ),
            peer as (select * from read_parquet('{peer_path}') left join persons using (email)),
            ours as (select * from marts.customer_lifecycle where frequency is not null)
            select
                (select count(*) from peer) as peer_rows,
                (select count(*) from ours) as our_rows,
                count(*) as joined,
                sum(case when peer.frequency <> ours.frequency or peer.recency <> ours.recency_days
                    or peer.T <> ours.tenure_days then 1 else 0 end) as day_mismatches,
                max(abs(peer.monetary_value - cast(ours.avg_repeat_order_value as double))) as max_monetary_diff
            from peer join ours using (customer_key)
            """
        ).fetchall()
    keys = ["peer_rows", "our_rows", "joined", "day_mismatches", "max_monetary_diff"]
    result = dict(zip(keys, row, strict=True))
    result["max_monetary_diff"] = float(result["max_monetary_diff"] or 0.0)
    result["match"] = (
        result["peer_rows"] == result["our_rows"] == result["joined"]
        and result["day_mismatches"] == 0
        and result["max_monetary_diff"] < 0.01
    )
    return result


# --------------------------------------------------------------------------------------------------------
# Prediction: our fit and scores vs lifetimes' fitters on the same BTYD summary
# --------------------------------------------------------------------------------------------------------


def btyd_summary(database: Path, out_path: Path) -> int:
    """The BTYD summary of every buyer in marts.customer_lifecycle, as Parquet: the prediction phase's input."""
    import duckdb

    with duckdb.connect(str(database), read_only=True) as con:
        con.execute(
            "copy (select customer_key, frequency, recency_days, tenure_days, avg_repeat_order_value "
            "from marts.customer_lifecycle where frequency is not null order by customer_key) "
            f"to '{out_path}' (format parquet)"
        )
        return con.execute(f"select count(*) from read_parquet('{out_path}')").fetchall()[0][0]


def synthetic_btyd_summary(buyers: int, out_path: Path, seed: int = SEED) -> int:
    """A BTYD summary of `buyers` buyers simulated from BG/NBD and Gamma-Gamma (r 0.5, alpha 60 days, a 2, b 10;
    p 5, q 3.5, v 28; first purchases spread over 3 years, a quarter never back), written as btyd_summary
    writes the build's: for timing the prediction phase alone (`python scripts/benchmark.py
    _synthetic_btyd_summary 3900000 summary.parquet`, then `_prediction summary.parquet OUT_DIR RESULT.json`)."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    rng = np.random.default_rng(seed)
    tenure = rng.integers(0, 3 * 365, buyers).astype(float)
    rate = rng.gamma(0.5, 1 / 60.0, buyers)
    dropout = rng.beta(2.0, 10.0, buyers)
    frequency, recency, clock = np.zeros(buyers), np.zeros(buyers), np.zeros(buyers)
    active = rng.random(buyers) >= 0.25
    while active.any():
        index = np.flatnonzero(active)
        clock[index] += rng.exponential(1 / rate[index])
        bought = index[clock[index] <= tenure[index]]
        frequency[bought] += 1
        recency[bought] = np.floor(clock[bought])
        active[:] = False
        active[bought] = rng.random(bought.size) >= dropout[bought]
    spend = rng.gamma(3.5, 1 / 28.0, buyers)  # per-buyer rate of the purchase values' gamma
    repeat = frequency > 0
    value = np.zeros(buyers)
    value[repeat] = np.round(rng.gamma(5.0 * frequency[repeat], 1 / (spend[repeat] * frequency[repeat])), 2)
    table = pa.table(
        {
            "customer_key": np.arange(buyers, dtype=np.int64),
            "frequency": frequency.astype(np.int64),
            "recency_days": recency.astype(np.int64),
            "tenure_days": tenure.astype(np.int64),
            "avg_repeat_order_value": value,
        }
    )
    pq.write_table(table, out_path)
    return buyers


def prediction_model_seconds(work_dir: Path) -> dict[str, float]:
    """Execution seconds of each prediction model in the last dbt invocation (run_results.json)."""
    run_results = work_dir / "dbt-target" / "run_results.json"
    if not run_results.exists():
        return {}
    results = json.loads(run_results.read_text())["results"]
    return {
        node_name(r["unique_id"]): round(r.get("execution_time") or 0, 3)
        for r in results
        if r["unique_id"].startswith("model.") and node_name(r["unique_id"]) in PREDICTION_MODELS
    }


def prediction_child(summary_path: Path, out_dir: Path, result_path: Path) -> None:
    """Fit and score the summary twice, timing each step: our way (DuckDB groups the buyers into distinct
    rows, lifecycle_pipeline.btyd fits and scores those, DuckDB joins the scores back and stores them: what the
    dbt Python models do), then lifetimes' way (BetaGeoFitter and GammaGammaFitter on one row per buyer, then
    its P(alive), expected purchases in 90 and 365 days and expected average profit). Loading is not timed."""
    import duckdb
    import numpy as np
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    from lifecycle_pipeline import btyd, prediction

    out_dir.mkdir(parents=True, exist_ok=True)
    database = out_dir / "prediction.duckdb"
    remove_database(database)
    con = duckdb.connect(str(database))
    con.execute(f"create table facts as select * from read_parquet('{summary_path}')").fetchall()
    facts = con.table("facts")
    result: dict = {"buyers": con.execute("select count(*) from facts").fetchall()[0][0]}

    start = time.perf_counter()
    fits = prediction.fit(facts, min_buyers=1)
    result["fit_seconds"] = time.perf_counter() - start
    params = {fit.model: fit.params for fit in fits}
    start = time.perf_counter()
    prediction.score(con, facts, params, PREDICTION_HORIZON_DAYS, "benchmark").create("scores")
    result["score_seconds"] = time.perf_counter() - start
    result["seconds"] = result["fit_seconds"] + result["score_seconds"]
    result["distinct_histories"] = con.execute(
        "select count(*) from (select distinct frequency, recency_days, tenure_days from facts)"
    ).fetchall()[0][0]
    result["ours"] = {
        fit.model: {"params": fit.params, "log_likelihood": fit.log_likelihood, "reason": fit.reason} for fit in fits
    }

    frame = facts.df()
    repeat = frame[(frame["frequency"] > 0) & (frame["avg_repeat_order_value"] > 0)]
    theirs: dict = {}
    try:
        # lifetimes raises ConvergenceError where the likelihood has no interior maximum (e.g. the same drop-out
        # probability for everyone) and suggests a penalizer: a user's second attempt, timed on its own.
        for penalizer in (0.0, 0.001):
            start = time.perf_counter()
            try:
                bg = BetaGeoFitter(penalizer_coef=penalizer).fit(
                    frame["frequency"], frame["recency_days"], frame["tenure_days"]
                )
                break
            except Exception as error:  # noqa: BLE001 - lifetimes' ConvergenceError
                result["lifetimes_bg_nbd_failed"] = f"penalizer {penalizer}: {type(error).__name__}"
                result["lifetimes_failed_attempt_seconds"] = time.perf_counter() - start
        else:
            raise RuntimeError("BetaGeoFitter did not converge, even with a penalizer")
        result["lifetimes_bg_nbd_penalizer"] = penalizer
        gg = GammaGammaFitter().fit(repeat["frequency"], repeat["avg_repeat_order_value"])
        result["lifetimes_fit_seconds"] = time.perf_counter() - start
        start = time.perf_counter()
        history = (frame["frequency"], frame["recency_days"], frame["tenure_days"])
        bg.conditional_probability_alive(*history)
        bg.conditional_expected_number_of_purchases_up_to_time(PREDICTION_HORIZON_DAYS, *history)
        bg.conditional_expected_number_of_purchases_up_to_time(365, *history)
        gg.conditional_expected_average_profit(frame["frequency"], frame["avg_repeat_order_value"])
        result["lifetimes_score_seconds"] = time.perf_counter() - start
        result["lifetimes_seconds"] = result["lifetimes_fit_seconds"] + result["lifetimes_score_seconds"]
        theirs = {"bg_nbd": dict(bg.params_), "gamma_gamma": dict(gg.params_)}
    except Exception as error:  # noqa: BLE001 - a failing peer is a finding, not a benchmark failure
        result["lifetimes_error"] = f"{type(error).__name__}: {error}"
    result["lifetimes"] = {model: {k: float(v) for k, v in p.items()} for model, p in theirs.items()}

    # Agreement, on the same data: the largest relative difference of a parameter, and the log-likelihood of
    # lifetimes' estimate under our function (ours maximises it, so ours − theirs ≥ 0 up to rounding).
    differences = [
        abs(ours["params"][name] / result["lifetimes"][model][name] - 1)
        for model, ours in result["ours"].items()
        if ours["params"] and model in result["lifetimes"]
        for name in ours["params"]
    ]
    result["largest_relative_parameter_difference"] = max(differences) if differences else None
    if "bg_nbd" in result["lifetimes"] and result["ours"]["bg_nbd"]["log_likelihood"] is not None:
        x, t_x, T, w = (
            np.asarray(v, dtype=float)
            for v in con.execute("select frequency, recency_days, tenure_days, count(*) from facts group by all")
            .fetchnumpy()
            .values()
        )
        theirs_ll = btyd.bgnbd_log_likelihood(result["lifetimes"]["bg_nbd"], x, t_x, T, w)
        result["bg_nbd_log_likelihood_ours_minus_lifetimes"] = result["ours"]["bg_nbd"]["log_likelihood"] - theirs_ll
    con.close()
    remove_database(database)
    result_path.write_text(json.dumps(result, default=float))


# What `benchmark.py _call NAME PATH...` may run (in_own_process).
OWN_PROCESS_FUNCTIONS = {
    function.__name__: function
    for function in (
        last_order_day,
        split_last_day,
        stage_counts,
        stage_history,
        rfm_counts,
        compare_with_peer,
        btyd_summary,
    )
}

# --------------------------------------------------------------------------------------------------------
# One scale
# --------------------------------------------------------------------------------------------------------


def dataset_folders(before_dir: Path, folders_dir: Path) -> None:
    """The refresh's raw folder as an EL tool lays it out: a folder per dataset holding the history up to
    the day before the last as one file (hard link into `before_dir`, no copy)."""
    if folders_dir.exists():
        shutil.rmtree(folders_dir)
    for dataset in DATASETS:
        (folders_dir / dataset).mkdir(parents=True)
        os.link(before_dir / f"{dataset}.parquet", folders_dir / dataset / "part-0000-history.parquet")


def land_last_day(before_dir: Path, folders_dir: Path, last_day: str) -> None:
    """One nightly drop: the last day's rows as a new file in every dataset folder."""
    for dataset in DATASETS:
        target = folders_dir / dataset / f"part-0001-{last_day}.parquet"
        if not target.exists():
            os.link(before_dir / f"{dataset}{LAST_DAY_SUFFIX}", target)


def file_size(path: Path) -> int:
    wal = path.with_name(path.name + ".wal")
    return path.stat().st_size + (wal.stat().st_size if wal.exists() else 0)


def prepare_data(
    label: str, customers: int, data_dir: Path, work_dir: Path, generator: Path, split: bool = True
) -> tuple[dict, str]:
    """Generated data for one scale (cached) and, with `split`, its copy without the last day (for the
    nightly refresh); returns the generation summary and the last order day."""
    full_raw, before_raw = data_dir / label / "full", data_dir / label / "before"
    print(f"[{label}] data: {customers} customers → {full_raw}", flush=True)
    summary = generate(full_raw, customers, work_dir / label / "logs", generator)
    if split:
        return summary, in_own_process(split_last_day, full_raw, before_raw)
    return summary, in_own_process(last_order_day, full_raw)


def postgres_engine(label: str, before_raw: Path, last_day: str, data_dir: Path, work: Path, log) -> dict:
    """The pipeline on a throwaway PostgreSQL server (scripts/pg_server.py) on this machine: the history up to
    the day before the last loaded by scripts/load_raw.py, `dbt run --target postgres` from scratch (full build),
    then the last day's file loaded and the normal `dbt run` (nightly refresh: landing appends the new batch).
    One run each (minutes at ~1M). Peak RSS is dbt's; the server's own memory is not in it. The stage counts
    after the night must equal the DuckDB full build's."""
    sys.path.insert(0, str(PROJECT_DIR / "scripts"))
    import pg_server

    logs = work / "logs"
    folders = data_dir / label / "postgres_folders"
    dataset_folders(before_raw, folders)
    server = pg_server.start()
    try:
        env = {
            **os.environ,
            **server.env(),
            "LIFECYCLE_TARGET": "postgres",
            "DBT_PROFILES_DIR": str(PROJECT_DIR / "profiles"),
            "DBT_TARGET_PATH": str(work / "postgres-target"),
            "DBT_LOG_PATH": str(work / "postgres-logs"),
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        }
        loader = [sys.executable, str(PROJECT_DIR / "scripts" / "load_raw.py"), "--target", "postgres"]
        log("postgres: load the history (load_raw.py)")
        load = run_child([*loader, "--raw-dir", str(folders)], logs / "postgres_load.log", env)
        log("postgres: full build (dbt run --target postgres)")
        full = run_child(dbt_command("run", "--target", "postgres"), logs / "postgres_full_build.log", env)
        land_last_day(before_raw, folders, last_day)
        log(f"postgres: load the file of {last_day}, nightly refresh")
        night_load = run_child([*loader, "--raw-dir", str(folders)], logs / "postgres_night_load.log", env)
        night = run_child(dbt_command("run", "--target", "postgres"), logs / "postgres_refresh.log", env)
        stage_rows = server.psql(
            "select lifecycle_stage || '=' || count(*) from marts.customer_lifecycle group by lifecycle_stage"
        )
        counts = dict(line.split("=") for line in stage_rows.split())
        database_bytes = int(server.psql("select pg_database_size(current_database())").strip())
    finally:
        pg_server.stop(server.folder)
        shutil.rmtree(folders, ignore_errors=True)
    return {
        "load_seconds": round(load.seconds, 1),
        "full_build": {"seconds": full.seconds, "runs": [full.seconds], "max_rss_bytes": full.max_rss_bytes},
        "night_load_seconds": round(night_load.seconds, 1),
        "refresh": {"seconds": night.seconds, "runs": [night.seconds], "max_rss_bytes": night.max_rss_bytes},
        "stage_counts": {stage: int(counts.get(stage, 0)) for stage in STAGES},
        "database_bytes": database_bytes,
    }


def benchmark_scale(
    label: str,
    customers: int,
    data_dir: Path,
    work_dir: Path,
    repeats: int,
    generator: Path,
    phases: list[str],
    engines: list[str] | None = None,
) -> dict:
    full_raw, before_raw = data_dir / label / "full", data_dir / label / "before"
    work = work_dir / label
    logs = work / "logs"

    def log(message: str) -> None:
        print(f"{time.strftime('%H:%M:%S')} [{label}] {message}", flush=True)

    needs_split = bool({"refresh", "refresh_with_tests", "refresh_single_file", "spark"} & set(phases)) or bool(engines)
    summary, last_day = prepare_data(label, customers, data_dir, work_dir, generator, split=needs_split)
    rows = {dataset: int(summary["rows"][dataset]) for dataset in DATASETS}
    result: dict = {
        "label": label,
        "customers": customers,
        "rows": rows,
        "last_day": last_day,
        "generation_seconds": summary.get("benchmark_generation_seconds"),
        "measured_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "load_average_at_start": round(os.getloadavg()[0], 1),
        "repeats": repeats,
        "phases": phases,
        "build_tool": "scripts/run_pipeline.py" if driver_supports_selection() else "dbt run (driver without --select)",
    }
    # One file name for every database: DuckDB names the catalog after the file, and views refer to it, so
    # the refresh's copy of the base build must keep the base build's name.
    full_db, base_db, refresh_db = (work / role / "lifecycle.duckdb" for role in ["full", "base", "refresh"])
    for database in (full_db, base_db, refresh_db):
        database.parent.mkdir(parents=True, exist_ok=True)

    # The full build always runs: every other phase is compared with it.
    log("full build")
    runs = repeated(
        lambda: build(full_raw, full_db, work, True, logs / "full_build.log"),
        repeats if "full_build" in phases else 1,
        prepare=lambda: remove_database(full_db),
    )
    result["full_build"] = summarise(runs)
    result["full_build"]["driver_phases"] = runs[-1].payload.get("phases")
    result["full_build"]["dbt_threads"] = runs[-1].payload.get("dbt_threads")
    result["slowest_models"] = slowest_models(work)
    result["full_build_node_types"] = built_node_types(work)
    result["full_build_prediction_models"] = prediction_model_seconds(work)
    result["database_bytes"] = file_size(full_db)
    result["raw_parquet_bytes"] = sum((full_raw / f"{dataset}.parquet").stat().st_size for dataset in DATASETS)
    counts = in_own_process(stage_counts, full_db)
    result["pipeline_stage_counts"] = counts

    if "tests" in phases:
        log("tests")
        env_full = dbt_env(full_raw, full_db, work)
        runs = repeated(
            lambda: run_child(dbt_command("test"), logs / "tests.log", env_full, spill_dir=full_db.parent), repeats
        )
        result["tests"] = summarise(runs)

    def refresh_phase(phase: str, before: Path, after: Path, land=None, timed=None) -> None:
        """A build on the data before the last day (not timed), then the last day added and the normal build
        timed (landing appends the new rows, the history its changes, every other model is rebuilt), each run
        starting again from a copy of that base database. `timed`: the phases to time on that base, each
        (name, with tests); by default `phase` alone, without tests."""
        remove_database(base_db)
        base = build(before, base_db, work, True, logs / f"{phase}_base_build.log")
        result[f"{phase}_base_build_seconds"] = base.seconds
        base_history = in_own_process(stage_history, base_db)
        if land is not None:
            land()

        def reset_refresh_db() -> None:
            remove_database(refresh_db)
            shutil.copyfile(base_db, refresh_db)
            # A night starts from a published file at rest: without this, the timed run's own work copy would
            # also wait for the kernel to write back the gigabytes this reset just copied.
            os.sync()

        # One untimed run first. A nightly run follows the previous night's, whose dbt parse it reuses; the first
        # normal run after a full refresh, or at another database path, parses the whole project again (its
        # profile and vars differ: a few seconds that no night pays).
        reset_refresh_db()
        warm_up = build(after, refresh_db, work, False, logs / f"{phase}_warm_up.log")
        result[f"{phase}_warm_up_seconds"] = warm_up.seconds
        for name, with_tests in timed or [(phase, False)]:
            runs = repeated(
                lambda: build(after, refresh_db, work, False, logs / f"{name}.log", with_tests),  # noqa: B023
                repeats,
                prepare=reset_refresh_db,
            )
            result[name] = summarise(runs)
            result[name]["driver_phases"] = runs[-1].payload.get("phases")
            result[name]["dbt_threads"] = runs[-1].payload.get("dbt_threads")
            result[f"{name}_slowest_models"] = slowest_models(work)
            result[f"{name}_node_types"] = built_node_types(work)
        result[f"{phase}_stage_counts"] = in_own_process(stage_counts, refresh_db)
        result[f"{phase}_database_bytes"] = (file_size(base_db), file_size(refresh_db))
        result[f"{phase}_history_growth"] = history_growth(base_history, in_own_process(stage_history, refresh_db))
        result[f"{phase}_matches_full_build"] = None if counts is None else result[f"{phase}_stage_counts"] == counts

    nights = [(name, name == "refresh_with_tests") for name in ("refresh", "refresh_with_tests") if name in phases]
    if nights:
        # What a scheduler sees with an EL tool: each dataset a folder, one new file a night.
        log(f"nightly refresh (dataset folders): history to {last_day}, then the file of {last_day} lands")
        folders = data_dir / label / "folders"
        dataset_folders(before_raw, folders)
        land = functools.partial(land_last_day, before_raw, folders, last_day)
        refresh_phase("refresh", folders, folders, land=land, timed=nights)
        shutil.rmtree(folders)

    if "refresh_single_file" in phases:
        # The contract's one-file-per-dataset layout: the whole file is rewritten with one more day.
        log(f"nightly refresh (single files): data before {last_day}, then the full files")
        refresh_phase("refresh_single_file", before_raw, full_raw)

    def timed_script(phase: str, output: Path) -> list[ChildRun]:
        """This script's `_<phase>` child on the full raw data, writing `output`; its own timing in its result."""
        output.parent.mkdir(parents=True, exist_ok=True)
        result_path = work / f"{phase}.json"
        command = [sys.executable, __file__, f"_{phase}", str(full_raw), str(output), str(result_path)]
        return repeated(lambda: run_child(command, logs / f"{phase}.log", result_path=result_path), repeats)

    if "landing" in phases:
        log("landing (raw rows into typed tables)")
        landing_db = work / "landing" / "landing.duckdb"
        runs = timed_script("landing", landing_db)
        result["landing"] = summarise(runs, key="seconds")
        for key in ("dataset_seconds", "rows", "database_bytes", "cast_to_null", "types"):
            result["landing"][key] = runs[-1].payload[key]
        remove_database(landing_db)

    if "floor" in phases:
        log("floor")
        runs = timed_script("floor", work / "floor" / "floor.duckdb")
        result["floor"] = summarise(runs, key="seconds")
        result["floor_stage_counts"] = runs[-1].payload["stage_counts"]
        result["floor_matches_pipeline"] = None if counts is None else result["floor_stage_counts"] == counts
        result["floor_rfm_matches_pipeline"] = (
            None if counts is None else runs[-1].payload["rfm_counts"] == in_own_process(rfm_counts, full_db)
        )

    if "peer" in phases:
        log("peer (lifetimes)")
        peer_out = work / "peer.parquet"
        runs = timed_script("peer", peer_out)
        result["peer"] = summarise(runs, key="seconds")
        result["peer"]["load_seconds"] = statistics.median(run.payload["load_seconds"] for run in runs)
        result["peer_comparison"] = in_own_process(compare_with_peer, full_db, peer_out) if counts is not None else None
    if "prediction" in phases:
        log("prediction (our fit and scores vs lifetimes' fitters, on the full build's BTYD summary)")
        summary_path = work / "btyd_summary.parquet"
        in_own_process(btyd_summary, full_db, summary_path)
        result_path = work / "prediction.json"
        command = [
            sys.executable,
            __file__,
            "_prediction",
            str(summary_path),
            str(work / "prediction"),
            str(result_path),
        ]
        runs = repeated(lambda: run_child(command, logs / "prediction.log", result_path=result_path), repeats)
        result["prediction"] = summarise(runs, key="seconds")
        for key in (
            "fit_seconds",
            "score_seconds",
            "lifetimes_fit_seconds",
            "lifetimes_score_seconds",
            "lifetimes_seconds",
        ):
            if all(key in run.payload for run in runs):
                result["prediction"][key] = statistics.median(run.payload[key] for run in runs)
        for key in (
            "buyers",
            "distinct_histories",
            "ours",
            "lifetimes",
            "lifetimes_error",
            "lifetimes_bg_nbd_failed",
            "lifetimes_bg_nbd_penalizer",
            "lifetimes_failed_attempt_seconds",
            "largest_relative_parameter_difference",
            "bg_nbd_log_likelihood_ours_minus_lifetimes",
        ):
            if key in runs[-1].payload:
                result["prediction"][key] = runs[-1].payload[key]
    if "postgres" in (engines or []):
        if result["rows"]["orders"] > ENGINE_MAX_ORDERS:
            log(f"postgres: skipped above {ENGINE_MAX_ORDERS:,} orders")
        else:
            result["engines"] = {"postgres": postgres_engine(label, before_raw, last_day, data_dir, work, log)}
            result["engines"]["postgres"]["matches_duckdb"] = (
                None if counts is None else result["engines"]["postgres"]["stage_counts"] == counts
            )
    # not in --smoke: the engine test (tests/engines/test_spark.py) runs the same steps on its own small set
    if "spark" in phases and label != "smoke" and parse_scale(label) <= SPARK_MAX_ORDERS:
        log("spark (local[2] session: load, full build, load a night, refresh; scripts/bench_spark.py)")
        result_path = work / "spark.json"
        command = [sys.executable, str(PROJECT_DIR / "scripts" / "bench_spark.py"), str(before_raw), last_day]
        run = run_child([*command, str(work), str(result_path)], logs / "spark.log", result_path=result_path)
        result["spark"] = {**run.payload, "wall_seconds": run.seconds, "max_rss_bytes": run.max_rss_bytes}
    result["harness_max_rss_bytes"] = harness_max_rss_bytes()
    log("done")
    return result


def sample_build(work_dir: Path, repeats: int) -> dict | None:
    """What `make run` does: the driver on the bundled sample, wall time including dbt's start-up."""
    if not (PROJECT_DIR / "data" / "sample").is_dir():
        print("no data/sample in this checkout: sample build not measured", flush=True)
        return None
    database = work_dir / "sample" / "lifecycle.duckdb"
    database.parent.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in ("LIFECYCLE_RAW_DIR", "LIFECYCLE_DUCKDB_PATH")}
    env["DBT_TARGET_PATH"] = str(database.parent / "dbt-target")
    env["DBT_LOG_PATH"] = str(database.parent / "dbt-logs")
    command = [sys.executable, str(DRIVER), "--database", str(database)]
    runs = repeated(
        lambda: run_child(command, database.parent / "sample.log", env),
        repeats,
        prepare=lambda: remove_database(database),
    )
    return {**summarise(runs), "harness_max_rss_bytes": harness_max_rss_bytes()}


# --------------------------------------------------------------------------------------------------------
# Report
# --------------------------------------------------------------------------------------------------------


def machine_info() -> dict:
    import importlib.metadata as metadata

    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    versions = {}
    for package in ["dbt-core", "dbt-duckdb", "duckdb", "pandas", "lifetimes", "pyarrow"]:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_DIR, capture_output=True, text=True
    ).stdout.strip()
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gib": round(memory / 1024**3, 1),
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "versions": versions,
        "commit": commit or "unknown",
    }


def gib(n: int) -> str:
    return f"{n / 1024**3:.2f} GiB"


def ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def seconds_of(r: dict, phase: str) -> float | None:
    return r[phase]["seconds"] if phase in r else None


def fmt(value: float | None, pattern: str = "{:.2f}") -> str:
    return "—" if value is None else pattern.format(value)


def yes_no(value: bool | None) -> str:
    return "n/a (no marts.customer_lifecycle yet)" if value is None else ("yes" if value else "**NO**")


PHASE_NAMES = {
    "full_build": "full build (`--full-refresh`, models only)",
    "tests": "tests (`dbt test`)",
    "refresh": "nightly refresh (+1 day as a new file per dataset folder, normal build)",
    "refresh_with_tests": "the same nightly refresh with its tests (`dbt build`, the driver's default)",
    "refresh_single_file": "nightly refresh (+1 day, single files rewritten, normal build)",
    "landing": "landing (raw files into typed DuckDB tables: no checks, de-duplication or quarantine)",
    "floor": "floor (hand-written DuckDB SQL, query only)",
    "peer": "peer (lifetimes `summary_data_from_transaction_data` only)",
    "prediction": "prediction: our BG/NBD + Gamma-Gamma fit and scoring on the BTYD summary (in-process)",
}


def spill_text(spills: list[int] | None) -> str:
    """E.g. "none", or "1.95 GiB peak, in 2 of 3 runs"; "—" where it was not sampled."""
    if spills is None:
        return "—"
    spilled = [b for b in spills if b > 0]
    if not spilled:
        return "none"
    return f"{gib(max(spilled))} peak, in {len(spilled)} of {len(spills)} runs"


def target_ratios(r: dict) -> dict[str, float | None]:
    """One scale's measured values of the issue-23 ratio targets (None where a phase did not run)."""
    full, floor, landing = (seconds_of(r, k) for k in ["full_build", "floor", "landing"])
    growth = r.get("refresh_history_growth")
    return {
        "full_over_landing_and_floor": ratio(full, landing + floor) if landing and floor else None,
        "night_with_tests_over_floor": ratio(seconds_of(r, "refresh_with_tests"), floor),
        "history_growth_per_night": growth["rows_share"] if growth else None,
        "database_over_raw_parquet": ratio(r.get("database_bytes"), r.get("raw_parquet_bytes")),
    }


def history_text(growth: dict) -> str:
    """E.g. "120 rows = 0.41 % of one snapshot (29,000 persons); storage +0.25 MiB = 1.2 % of 21.0 MiB"."""
    bytes_share = fmt(growth["bytes_share"] and 100 * growth["bytes_share"], "{:.1f} %")
    return (
        f"{growth['added_rows']:,} rows = {fmt(growth['rows_share'] and 100 * growth['rows_share'], '{:.2f} %')} "
        f"of one snapshot ({growth['snapshot_rows']:,} persons); storage +{growth['added_bytes'] / 2**20:,.2f} MiB "
        f"= {bytes_share} of {growth['snapshot_bytes'] / 2**20:,.2f} MiB"
    )


def scale_table(r: dict) -> list[str]:
    full, floor, landing = (seconds_of(r, k) for k in ["full_build", "floor", "landing"])
    targets = target_ratios(r)
    total_rows = sum(r["rows"].values())
    lines = [
        f"### {r['label']} orders ({r['rows']['orders']:,} orders, {r['customers']:,} persons generated)",
        "",
        f"Input rows: {', '.join(f'{k} {v:,}' for k, v in r['rows'].items())} (total {total_rows:,}). "
        f"Measured {r['measured_at']} (load average {r.get('load_average_at_start', '?')} at the start on "
        f"{os.cpu_count()} cores); last day {r['last_day']}. Builds ran through {r.get('build_tool', '?')}.",
        "",
        "| phase | seconds (median) | runs (s) | peak RSS | DuckDB spill to disk |",
        "|---|---:|---|---:|---|",
    ]
    for phase, name in PHASE_NAMES.items():
        if phase not in r:
            lines.append(f"| {name} | not run | | | |")
            continue
        extra = f" (+{r[phase]['load_seconds']:.1f} s to load with pandas)" if phase == "peer" else ""
        runs = ", ".join(f"{s:.1f}" for s in r[phase]["runs"])
        lines.append(
            f"| {name}{extra} | {r[phase]['seconds']:.1f} | {runs} | {gib(r[phase]['max_rss_bytes'])} "
            f"| {spill_text(r[phase].get('spill_bytes_runs'))} |"
        )
    for engine, measured in (r.get("engines") or {}).items():
        for phase in ("full_build", "refresh"):
            lines.append(
                f"| {engine}: {'full build (`dbt run`)' if phase == 'full_build' else 'nightly refresh (+1 day)'} "
                f"| {measured[phase]['seconds']:.1f} | {measured[phase]['seconds']:.1f} "
                f"| {gib(measured[phase]['max_rss_bytes'])} (dbt only) | — |"
            )
        lines.append(
            f"| {engine}: loading with load_raw.py, history / night | {measured['load_seconds']:.1f} / "
            f"{measured['night_load_seconds']:.1f} | | | — |"
        )
    lines += [
        "",
        "| measure | value |",
        "|---|---:|",
        f"| full build / (landing + floor) | {fmt(targets['full_over_landing_and_floor'], '{:.2f} ×')} |",
        f"| nightly refresh with its tests / floor | {fmt(targets['night_with_tests_over_floor'], '{:.2f} ×')} |",
        f"| nightly refresh (models only) / floor | {fmt(ratio(seconds_of(r, 'refresh'), floor), '{:.2f} ×')} |",
        f"| single-file refresh / floor | {fmt(ratio(seconds_of(r, 'refresh_single_file'), floor), '{:.2f} ×')} |",
        f"| landing / floor | {fmt(ratio(landing, floor), '{:.1f} ×')} |",
        f"| landing / full build | {fmt(ratio(landing, full) and 100 * ratio(landing, full), '{:.0f} %')} |",
        f"| input rows per second, full build | {total_rows / full:,.0f} |",
        f"| orders per second, full build | {r['rows']['orders'] / full:,.0f} |",
        f"| database file after the full build / raw Parquet ({gib(r['database_bytes'])} / "
        f"{fmt(r.get('raw_parquet_bytes') and r['raw_parquet_bytes'] / 1024**3, '{:.2f} GiB')}) "
        f"| {fmt(targets['database_over_raw_parquet'], '{:.2f} ×')} |",
    ]
    if r.get("harness_max_rss_bytes"):
        lines.append(f"| the benchmark's own peak RSS (no phase can read less) | {gib(r['harness_max_rss_bytes'])} |")
    for phase, name in (("refresh", "nightly refresh"), ("refresh_single_file", "single-file refresh")):
        growth = r.get(f"{phase}_history_growth")
        if growth:
            lines.append(
                f"| stage history added by the {name} (rows valid from {growth['as_of_date']}; its base build's "
                f"as-of date {growth['as_of_date_before']}) | {history_text(growth)} |"
            )
    for phase in ("refresh", "refresh_single_file"):
        if r.get(f"{phase}_database_bytes"):
            before, after = r[f"{phase}_database_bytes"]
            lines.append(f"| database file before → after the {phase} | {gib(before)} → {gib(after)} |")
    if "floor" in r:
        lines.append(f"| floor stage counts = pipeline's | {yes_no(r['floor_matches_pipeline'])} |")
        lines.append(
            f"| floor RFM scores (buyers per R-F-M) = pipeline's | {yes_no(r.get('floor_rfm_matches_pipeline'))} |"
        )
    for phase in ("refresh", "refresh_single_file"):
        if phase in r:
            lines.append(f"| {phase} stage counts = full build's | {yes_no(r[f'{phase}_matches_full_build'])} |")
    if "peer" in r:
        comparison = r["peer_comparison"]
        if comparison is None:
            lines.append(f"| lifetimes BTYD columns = ours | {yes_no(None)} |")
        else:
            lines.append(
                f"| lifetimes BTYD columns = ours ({comparison['joined']:,} of {comparison['our_rows']:,} buyers "
                f"joined; {comparison['day_mismatches']} differ in frequency/recency/T; largest monetary "
                f"difference {comparison['max_monetary_diff']:.4f}) | {yes_no(comparison['match'])} |"
            )
    lines += prediction_measures(r)
    lines.append("")
    builds = {
        "full_build": "full build",
        "refresh": "refresh",
        "refresh_with_tests": "refresh with tests",
        "refresh_single_file": "single-file refresh",
    }
    for phase, name in builds.items():
        driver = r.get(phase, {}).get("driver_phases")
        if driver:
            lines += [f"Driver phases of the last {name} (s): " + ", ".join(f"{k} {v}" for k, v in driver.items()), ""]
    if "landing" in r:
        landing = r["landing"]
        per_dataset = ", ".join(f"{k} {v:.1f}" for k, v in landing["dataset_seconds"].items())
        lost = sum(landing.get("cast_to_null", {}).values())
        lines += [
            f"Landing per dataset, last run (s): {per_dataset}; database {gib(landing['database_bytes'])}; "
            f"values its casts turned to NULL: {lost:,}.",
            "",
        ]
    # The driver runs a build from scratch of a large input on one thread, others on the profile's (threads_for).
    threads = [
        f"{name} {r[phase]['dbt_threads'][0]}" for phase, name in builds.items() if r.get(phase, {}).get("dbt_threads")
    ]
    if threads:
        lines += ["dbt threads of the driver's builds: " + ", ".join(threads) + ".", ""]
    if r.get("spark"):
        spark = r["spark"]["seconds"]
        steps = ("session_start", "load", "full_build", "night_load", "refresh")
        lines += [
            "Spark, local[2] session, one run (s): "
            + ", ".join(f"{name} {spark[name]}" for name in steps)
            + f"; peak RSS as wait4 reports it {gib(r['spark']['max_rss_bytes'])} (docs/engines.md).",
            "",
        ]
    if r.get("pipeline_stage_counts"):
        counts = r["pipeline_stage_counts"]
        lines += ["Stage counts: " + ", ".join(f"{s} {counts.get(s, 0):,}" for s in STAGES) + ".", ""]
    if r.get("slowest_models"):
        slowest = ", ".join(f"{name} {seconds}" for name, seconds in r["slowest_models"])
        lines += [f"Slowest models in the last full build (s, from run_results.json): {slowest}.", ""]
    for phase, name in (
        ("refresh", "refresh"),
        ("refresh_with_tests", "refresh with tests (models and tests)"),
        ("refresh_single_file", "single-file refresh"),
    ):
        if r.get(f"{phase}_slowest_models"):
            slowest = ", ".join(f"{model} {seconds}" for model, seconds in r[f"{phase}_slowest_models"])
            lines += [f"Slowest models in the last {name} (s): {slowest}.", ""]
    return lines


def prediction_share(r: dict) -> float | None:
    """The prediction models' execution seconds in the full build (run_results.json, summed) over its seconds."""
    models = r.get("full_build_prediction_models")
    return ratio(sum(models.values()), seconds_of(r, "full_build")) if models else None


def prediction_measures(r: dict) -> list[str]:
    """The prediction phase's rows of a scale's measures table."""
    lines = []
    models = r.get("full_build_prediction_models")
    if models:
        each = ", ".join(f"{name} {seconds:.1f}" for name, seconds in models.items())
        lines.append(
            f"| prediction models in the full build (run_results, summed: {each}) "
            f"| {sum(models.values()):.1f} s = {fmt(100 * prediction_share(r), '{:.1f} %')} of the full build |"
        )
    p = r.get("prediction")
    if not p:
        return lines
    theirs = (
        f"{p['lifetimes_fit_seconds']:.1f} s + {p['lifetimes_score_seconds']:.1f} s"
        if "lifetimes_seconds" in p
        else f"failed ({p.get('lifetimes_error', '?')})"
    )
    lines.append(
        f"| prediction on {p.get('buyers', 0):,} buyers ({p.get('distinct_histories', 0):,} distinct histories): "
        f"ours fit + scores vs lifetimes' fitters + scores | {p['fit_seconds']:.1f} s + {p['score_seconds']:.1f} s "
        f"vs {theirs} |"
    )
    if p.get("largest_relative_parameter_difference") is not None:
        gain = p.get("bg_nbd_log_likelihood_ours_minus_lifetimes")
        lines.append(
            f"| prediction parameters: largest relative difference ours vs lifetimes; BG/NBD log-likelihood ours − "
            f"lifetimes' | {p['largest_relative_parameter_difference']:.2e}; {fmt(gain, '{:+.3g}')} |"
        )
    return lines


def met_text(met: bool | None) -> str:
    return "not measured" if met is None else ("yes" if met else "**no**")


def at_most(value: float | None, limit: float) -> bool | None:
    return None if value is None else value <= limit


def prediction_targets(r: dict, label: str) -> list[tuple[str, str, bool | None]]:
    """Issue 28's targets, where the prediction phase (or models) ran at this scale."""
    checks = []
    share = prediction_share(r)
    if share is not None:
        checks.append(
            (
                f"prediction models ≤ {TARGET_PREDICTION_SHARE_OF_FULL_BUILD:.0%} of the full build ({label})",
                f"{100 * share:.1f} %",
                share <= TARGET_PREDICTION_SHARE_OF_FULL_BUILD,
            )
        )
    p = r.get("prediction")
    if p:
        theirs = p.get("lifetimes_seconds")
        checks.append(
            (
                f"prediction fit + scoring faster than lifetimes' BetaGeoFitter + GammaGammaFitter ({label})",
                f"{p['seconds']:.1f} s vs " + ("failed" if theirs is None else f"{theirs:.1f} s"),
                None if theirs is None else p["seconds"] < theirs,
            )
        )
    return checks


def targets_table(results: dict, sample: dict | None) -> list[str]:
    """The issue-23 targets, each with its measured value: the ratios and checks at the largest scale of ≥ 5M
    orders, the growth from ~1M to it, the sample build."""
    lines = ["| target | measured | met |", "|---|---|---|"]
    by_orders = sorted(results.values(), key=lambda r: r["rows"]["orders"])
    large = [r for r in by_orders if r["rows"]["orders"] >= 5_000_000]
    checks: list[tuple[str, str, bool | None]] = []
    if large:
        r = large[-1]
        label = r["label"]
        t = target_ratios(r)
        full_ratio, night_ratio = t["full_over_landing_and_floor"], t["night_with_tests_over_floor"]
        history, database = t["history_growth_per_night"], t["database_over_raw_parquet"]
        rss = r["full_build"]["max_rss_bytes"]
        floor_match = r.get("floor_matches_pipeline")
        rfm_match = r.get("floor_rfm_matches_pipeline")
        floor_met = None if floor_match is None or rfm_match is None else floor_match and rfm_match
        peer_met = (r.get("peer_comparison") or {}).get("match")
        checks += [
            (
                f"full build ≤ {TARGET_FULL_OVER_LANDING_AND_FLOOR:g} × (landing + floor) ({label})",
                fmt(full_ratio, "{:.2f} ×"),
                at_most(full_ratio, TARGET_FULL_OVER_LANDING_AND_FLOOR),
            ),
            (
                f"nightly refresh with its tests (the driver's default night) ≤ "
                f"{TARGET_NIGHT_WITH_TESTS_OVER_FLOOR:g} × floor ({label})",
                fmt(night_ratio, "{:.2f} ×"),
                at_most(night_ratio, TARGET_NIGHT_WITH_TESTS_OVER_FLOOR),
            ),
            (
                f"history growth per nightly as-of date ≤ {TARGET_HISTORY_GROWTH_PER_NIGHT:.0%} of one full "
                f"snapshot ({label}, rows)",
                fmt(history and 100 * history, "{:.2f} %"),
                at_most(history, TARGET_HISTORY_GROWTH_PER_NIGHT),
            ),
            (
                f"database file ≤ {TARGET_DATABASE_OVER_RAW_PARQUET:g} × the raw Parquet ({label}, full build)",
                fmt(database, "{:.2f} ×"),
                at_most(database, TARGET_DATABASE_OVER_RAW_PARQUET),
            ),
            (f"peak RSS ≤ {gib(TARGET_RSS_BYTES)} ({label}, full build)", gib(rss), rss <= TARGET_RSS_BYTES),
            (
                f"floor stage and RFM counts = the pipeline's ({label})",
                "—" if floor_met is None else f"stages {yes_no(floor_match)}, RFM {yes_no(rfm_match)}",
                floor_met,
            ),
            (f"lifetimes BTYD columns = ours ({label})", "—" if peer_met is None else yes_no(peer_met), peer_met),
        ]
        checks += prediction_targets(r, label)
    else:
        checks.append(("targets at ~10M orders", "not measured", None))
    one_m = [r for r in by_orders if 500_000 <= r["rows"]["orders"] < 5_000_000]
    if one_m and large:
        growth = ratio(large[-1]["full_build"]["seconds"], one_m[-1]["full_build"]["seconds"])
        orders_growth = ratio(large[-1]["rows"]["orders"], one_m[-1]["rows"]["orders"])
        checks.append(
            (
                f"full build grows ≤ {TARGET_GROWTH_1M_TO_10M:.0f}× from ~1M to ~10M orders",
                f"{growth:.1f}× for {orders_growth:.1f}× the orders",
                growth <= TARGET_GROWTH_1M_TO_10M,
            )
        )
    if sample:
        checks.append(
            (
                f"sample build (`make run`) < {TARGET_SAMPLE_SECONDS:.0f} s wall",
                f"{sample['seconds']:.1f} s",
                sample["seconds"] < TARGET_SAMPLE_SECONDS,
            )
        )
    lines += [f"| {name} | {measured} | {met_text(met)} |" for name, measured, met in checks]
    return lines


def write_chart(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = sorted(results.values(), key=lambda r: r["rows"]["orders"])
    figure, axes = plt.subplots(figsize=(7, 4.5))
    series = [
        ("full_build", "full build", "o-"),
        ("refresh", "nightly refresh", "s-"),
        ("refresh_with_tests", "nightly refresh with tests", "v-"),
        ("tests", "tests", "^-"),
        ("landing", "landing (raw rows stored, typed)", "+--"),
        ("floor", "floor (DuckDB SQL)", "d--"),
        ("peer", "peer (lifetimes summary)", "x:"),
    ]
    for key, name, style in series:
        points = [(r["rows"]["orders"], r[key]["seconds"]) for r in ordered if key in r]
        if points:
            axes.plot(*zip(*points, strict=True), style, label=name)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("orders")
    axes.set_ylabel("seconds (median)")
    axes.set_title("customer_lifecycle: time vs rows")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(out_dir: Path, results: dict, sample: dict | None, machine: dict, command: str) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    report, chart = out_dir / "benchmarks.md", out_dir / "benchmarks.png"
    notes = ""
    if report.exists() and NOTES_MARKER in report.read_text():
        notes = report.read_text().split(NOTES_MARKER, 1)[1].strip()
    write_chart(results, chart)
    versions = ", ".join(f"{k} {v}" for k, v in machine["versions"].items())
    lines = [
        "# Benchmarks",
        "",
        f"Generated by scripts/benchmark.py (`make bench`; last run: `{command}`); raw numbers in `benchmarks.json`.",
        "",
        f"Machine: {machine['cpu']}, {machine['cores']} cores, {machine['memory_gib']} GiB RAM, {machine['os']}; "
        f"Python {machine['python']}; {versions}; commit {machine['commit']}.",
        "",
        "How it is measured: each phase runs in its own child process; seconds are wall-clock (dbt's start-up "
        "included) except landing, floor and peer, which time only their queries / function call. Landing copies "
        "the raw files into DuckDB tables with the contract's column types (try_cast; no checks, de-duplication "
        "or quarantine; at the profile's memory cap): what staging pays at least to store its rows. "
        "A phase under 60 s is "
        "repeated and the median reported. Peak RSS is the child's maximum resident set size (`os.wait4`); "
        "on Linux it starts at the benchmark process's own peak, so that process runs its own queries in "
        "separate processes and stays small (its peak is in each table). "
        "DuckDB spill to disk: the largest size of DuckDB's temp files beside the database (work copy included) "
        "while a build or the tests ran, sampled every 0.2 s — a query that outgrows the memory cap writes there, "
        "and runs slower by it. "
        "Data: scripts/generate_data.py, Parquet, clean (`--dirty-share 0`), seed 42, cached under data/bench/; "
        "each refresh starts from a build on the same data without its last day, then adds that day: as one "
        "new file in every dataset's folder (`refresh`, how an EL tool lands data) or by rewriting the single "
        "files (`refresh_single_file`); `refresh_with_tests` is the folder refresh again with the dbt tests the "
        "driver runs by default; one untimed run comes first, so that the timed ones reuse dbt's parse "
        "of the project as a nightly run reuses the previous night's, and each refresh starts after `sync`, from a "
        "database file at rest as a night does. In a night (design 2) landing appends the new files' rows, "
        "the stage history appends its changes, and every other model is rebuilt from the landed rows. "
        "History growth: after the folder refresh, whose as-of date is one day after its base build's, the rows "
        "of `customer_stage_history` valid from that date over the persons in `customer_lifecycle` (one full "
        "snapshot), and the history's storage growth over its size after the base build (which holds one "
        "snapshot). Database vs raw Parquet: the database file after the full build over the bytes of the "
        "scale's four raw Parquet files.",
        "",
        f"![time vs rows]({chart.name})",
        "",
        "## Targets",
        "",
        *targets_table(results, sample),
        "",
        "## Per scale",
        "",
    ]
    for r in sorted(results.values(), key=lambda r: r["rows"]["orders"]):
        lines += scale_table(r)
    if sample:
        lines += [
            f"Sample build (`scripts/run_pipeline.py` on data/sample, as `make run`): {sample['seconds']:.1f} s wall "
            f"(median; runs {', '.join(f'{s:.1f}' for s in sample['runs'])}), peak RSS {gib(sample['max_rss_bytes'])}"
            + (
                f" (the benchmark's own: {gib(sample['harness_max_rss_bytes'])})."
                if sample.get("harness_max_rss_bytes")
                else "."
            ),
            "",
        ]
    lines += [NOTES_MARKER, "", notes, ""] if notes else [NOTES_MARKER, ""]
    report.write_text("\n".join(lines))
    return report


# --------------------------------------------------------------------------------------------------------
# Main
# --------------------------------------------------------------------------------------------------------


def orders_per_customer(data_dir: Path, work_dir: Path, generator: Path) -> float:
    calibration = data_dir / "calibration"
    summary = generate(calibration, CALIBRATION_CUSTOMERS, work_dir / "logs", generator)
    return summary["rows"]["orders"] / CALIBRATION_CUSTOMERS


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scales", default=DEFAULT_SCALES, help="target orders per scale, e.g. 100k,1M,10M")
    parser.add_argument("--repeats", type=int, default=3, help="runs per phase when a run takes under 60 s")
    parser.add_argument("--data-dir", type=Path, default=PROJECT_DIR / "data" / "bench", help="generated data cache")
    parser.add_argument("--work-dir", type=Path, default=None, help="databases and logs (default DATA_DIR/work)")
    parser.add_argument("--out-dir", type=Path, default=PROJECT_DIR / "docs", help="where the report goes")
    parser.add_argument(
        "--phases", default=",".join(PHASES), help=f"phases to measure (the full build always runs): {','.join(PHASES)}"
    )
    parser.add_argument("--generator", type=Path, default=DEFAULT_GENERATOR, help="data generator script")
    parser.add_argument(
        "--engines",
        default=",".join(ENGINES),
        help=f"other engines to time at scales up to {ENGINE_MAX_ORDERS:,} orders ('' = none; never with --smoke)",
    )
    parser.add_argument("--prepare-only", action="store_true", help="generate and split the data, measure nothing")
    parser.add_argument("--skip-sample", action="store_true", help="do not time the sample build")
    parser.add_argument("--report-only", action="store_true", help="re-render the report from benchmarks.json")
    parser.add_argument(
        "--smoke", action="store_true", help="tiny scale, one run per phase (for the test suite; needs --out-dir)"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    # Timed children (timed_script): raw folder, output, result file.
    timed_children = {
        "_landing": landing_child,
        "_floor": floor_child,
        "_peer": peer_child,
        "_prediction": prediction_child,
    }
    if argv and argv[0] in timed_children:
        timed_children[argv[0]](*map(Path, argv[1:4]))
        return 0
    if argv and argv[0] == "_synthetic_btyd_summary":
        print(synthetic_btyd_summary(int(argv[1]), Path(argv[2])))
        return 0
    if argv and argv[0] == "_call":
        print(json.dumps(OWN_PROCESS_FUNCTIONS[argv[1]](*map(Path, argv[2:]))))
        return 0

    args = parse_args(argv)
    work_dir = args.work_dir or args.data_dir / "work"
    results_path = args.out_dir / "benchmarks.json"
    stored = json.loads(results_path.read_text()) if results_path.exists() else {}
    results, sample = stored.get("scales", {}), stored.get("sample_build")
    command = "python scripts/benchmark.py " + " ".join(argv)

    if not args.report_only:
        if args.smoke:
            plan = [("smoke", 150)]
            repeats = 1
        else:
            per_customer = orders_per_customer(args.data_dir, work_dir, args.generator)
            plan = [(label, max(1, round(parse_scale(label) / per_customer))) for label in args.scales.split(",")]
            repeats = args.repeats
        if args.prepare_only:
            for label, customers in plan:
                prepare_data(label, customers, args.data_dir, work_dir, args.generator)
            return 0
        for label, customers in plan:
            phases = [phase.strip() for phase in args.phases.split(",")]
            engines = [] if args.smoke else [name.strip() for name in args.engines.split(",") if name.strip()]
            results[label] = benchmark_scale(
                label, customers, args.data_dir, work_dir, repeats, args.generator, phases, engines
            )
            # Save after every scale, so a long run that is stopped keeps what it measured.
            stored.update({"scales": results, "machine": machine_info()})
            args.out_dir.mkdir(parents=True, exist_ok=True)
            results_path.write_text(json.dumps(stored, indent=2, default=str))
        if not args.skip_sample and not args.smoke:
            sample = sample_build(work_dir, args.repeats)
            stored["sample_build"] = sample
            results_path.write_text(json.dumps(stored, indent=2, default=str))

    report = write_report(args.out_dir, results, sample, stored.get("machine") or machine_info(), command)
    print(f"Report: {report}")
    mismatched = [label for label, r in results.items() if r.get("floor_matches_pipeline") is False]
    if mismatched:
        print(f"Floor stage counts differ from the pipeline's at: {', '.join(mismatched)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
