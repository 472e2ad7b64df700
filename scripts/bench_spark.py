#!/usr/bin/env python3
"""The Spark phase of `make bench` (scripts/benchmark.py, phase `spark`): one scale on a local[2] session.

    python scripts/bench_spark.py BEFORE_DIR LAST_DAY WORK_DIR RESULT_JSON

BEFORE_DIR is the benchmark's "before" folder (every dataset without its last day, NAME.parquet, and the last
day's rows, NAME.last_day.parquet). In one process and one Spark session (started here with the `spark`
target's settings, warehouse and Derby metastore under WORK_DIR/spark), it measures:

  load          the history as one batch per dataset into raw.<dataset> (scripts/load_raw.py --target spark's code)
  full_build    `dbt run --target spark` from scratch (tests excluded, as the DuckDB full_build)
  night_load    the last day as a new batch
  refresh       `dbt run --target spark` again: landing appends the new batch, the history its changes

and writes the seconds and the row counts of the main marts as JSON. The session's JVM start is timed apart.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(PROJECT_DIR), str(PROJECT_DIR / "tests" / "python"), str(PROJECT_DIR / "tests" / "engines")]

DATASETS = ("orders", "sessions", "newsletter_signups", "email_events")
LAST_DAY_SUFFIX = ".last_day.parquet"


def raw_folders(before_dir: Path, raw_dir: Path, last_day: str, with_last_day: bool) -> None:
    """A folder per dataset with the history file (and the last day's file): hard links, no copies."""
    for dataset in DATASETS:
        folder = raw_dir / dataset
        folder.mkdir(parents=True, exist_ok=True)
        history = folder / "part-0000-history.parquet"
        if not history.exists():
            history.hardlink_to(before_dir / f"{dataset}.parquet")
        night = folder / f"part-0001-{last_day}.parquet"
        if with_last_day and not night.exists():
            night.hardlink_to(before_dir / f"{dataset}{LAST_DAY_SUFFIX}")


def measure(before_dir: Path, last_day: str, work_dir: Path) -> dict:
    from spark_harness import LocalSpark

    from lifecycle_pipeline.spark_raw import load_raw_spark

    base = work_dir / "spark"
    shutil.rmtree(base, ignore_errors=True)
    raw_dir = base / "raw"
    raw_folders(before_dir, raw_dir, last_day, with_last_day=False)
    seconds: dict[str, float] = {}

    def timed(name, function, *args):
        started = time.perf_counter()
        value = function(*args)
        seconds[name] = round(time.perf_counter() - started, 2)
        return value

    spark = timed("session_start", LocalSpark, base)
    try:
        timed("load", load_raw_spark, spark.session, raw_dir)
        timed("full_build", spark.dbt, ["run"], raw_dir)
        raw_folders(before_dir, raw_dir, last_day, with_last_day=True)
        timed("night_load", load_raw_spark, spark.session, raw_dir)
        timed("refresh", spark.dbt, ["run"], raw_dir)
        counts = {
            table: spark.session.sql(f"select count(*) from marts.{table}").collect()[0][0]
            for table in ("customer_lifecycle", "fct_orders", "customer_stage_history")
        }
    finally:
        spark.stop()
    return {"seconds": seconds, "mart_rows": counts}


def main(argv: list[str]) -> int:
    before_dir, last_day, work_dir, result_path = Path(argv[0]), argv[1], Path(argv[2]), Path(argv[3])
    result = measure(before_dir, last_day, work_dir)
    result_path.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
