"""The driver's dbt invocation, called directly (no dbt run): which arguments a build gets."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lifecycle_pipeline.dbt_step import ONE_THREAD_FROM_RAW_BYTES, DbtRun, threads_for  # noqa: E402

LARGE, SMALL = ONE_THREAD_FROM_RAW_BYTES, ONE_THREAD_FROM_RAW_BYTES - 1


def test_a_build_from_scratch_of_a_large_input_runs_on_one_thread_unless_lifecycle_threads_is_set():
    assert threads_for(from_scratch=True, raw_bytes=LARGE, environ={}) == 1
    assert threads_for(from_scratch=True, raw_bytes=LARGE, environ={"LIFECYCLE_THREADS": ""}) == 1
    # the user's setting wins; a small input and an incremental run keep the profile's threads
    assert threads_for(from_scratch=True, raw_bytes=LARGE, environ={"LIFECYCLE_THREADS": "4"}) is None
    assert threads_for(from_scratch=True, raw_bytes=SMALL, environ={}) is None
    assert threads_for(from_scratch=False, raw_bytes=LARGE, environ={}) is None


def test_threads_reach_dbt_only_when_set():
    run = DbtRun(database=Path("w.duckdb"), raw_dir=Path("raw"), full_refresh=True, threads=1)
    args = run.args()
    assert args[0] == "build" and "--full-refresh" in args
    assert args[args.index("--threads") + 1] == "1"
    assert "--threads" not in DbtRun(database=Path("w.duckdb"), raw_dir=Path("raw")).args()
