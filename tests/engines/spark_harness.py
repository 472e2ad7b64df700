"""Run the project on a local Spark session, as the engine tests and the benchmark need it.

The session is started here, in this process, with the `spark` target's settings (lifecycle_pipeline.spark_session)
and a warehouse and Derby metastore in a folder of the caller; dbt runs in the same process (dbtRunner), so
dbt-spark's session method picks up that one session instead of starting a JVM per call. `stop()` ends it.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
import traceback
from pathlib import Path

from dbt_harness import PROJECT_DIR, DbtResult, environment

from lifecycle_pipeline.spark_session import start_session

# Columns a run sets to its own clock: never compared between engines.
LOAD_TIME_COLUMNS = {"_loaded_at", "loaded_at", "quarantined_at", "attributed_at"}


class LocalSpark:
    """A Spark session with its warehouse and metastore under `base`, and dbt calls against it."""

    def __init__(self, base: Path, extra_conf: dict[str, str] | None = None, java_options: str | None = None):
        """`java_options`: for the JVM the session starts (JAVA_TOOL_OPTIONS), beside the profile's own."""
        self.base = base
        self.variables = {
            "DBT_PROFILES_DIR": str(PROJECT_DIR / "profiles"),
            "LIFECYCLE_SPARK_WAREHOUSE": str(base / "warehouse"),
            "LIFECYCLE_SPARK_DERBY_HOME": str(base / "derby"),
            "LIFECYCLE_KEY_SALT": None,
        }
        java = {"JAVA_TOOL_OPTIONS": java_options} if java_options else {}  # else the caller's, if any
        with environment({**self.variables, **java}):
            self.session = start_session(PROJECT_DIR, extra_conf, install=True)

    def stop(self) -> None:
        self.session.stop()
        # pyspark keeps the JVM gateway for a later session; nothing else of ours stays running.

    def dbt(self, args: list[str], raw_dir: Path, dbt_vars: dict | None = None, check: bool = True) -> DbtResult:
        """One dbt command with --target spark, in this process, against this session."""
        from dbt.cli.main import dbtRunner
        from dbt_common.events.functions import capture_stdout_logs, stop_capture_stdout_logs

        command = [
            *args,
            "--target",
            "spark",
            "--project-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(self.base / "dbt-target"),
            "--log-path",
            str(self.base / "dbt-logs"),
            "--no-use-colors",
            "--vars",
            repr({"max_quarantine_share": 1, **(dbt_vars or {})}),
        ]
        output = io.StringIO()
        with environment({**self.variables, "LIFECYCLE_RAW_DIR": str(raw_dir)}), contextlib.chdir(PROJECT_DIR):
            capture_stdout_logs(output)
            try:
                result = dbtRunner().invoke(command)
            finally:
                stop_capture_stdout_logs()
        returncode = 0 if result.success else (1 if result.exception is None else 2)
        stderr = "" if result.exception is None else "".join(traceback.format_exception(result.exception))
        completed = DbtResult(command, returncode, output.getvalue(), stderr)
        if check and returncode != 0:
            raise AssertionError(f"dbt {' '.join(args)} failed:\n{completed.stdout[-6000:]}\n{stderr[-3000:]}")
        return completed

    def tables(self, schema: str) -> list[str]:
        return sorted(row[1] for row in self.session.sql(f"show tables in {schema}").collect() if not row[2])

    def rows(self, relation: str) -> tuple[list[str], list[tuple]]:
        """Column names (load-time columns left out) and every row of `relation`."""
        frame = self.session.table(relation)
        columns = [name for name in frame.columns if name not in LOAD_TIME_COLUMNS]
        return columns, [tuple(row) for row in frame.select(*columns).collect()]


def timed(function, *args, **kwargs):
    """(seconds, result) of one call."""
    started = time.perf_counter()
    result = function(*args, **kwargs)
    return round(time.perf_counter() - started, 1), result


__all__ = ["LocalSpark", "timed", "os"]
