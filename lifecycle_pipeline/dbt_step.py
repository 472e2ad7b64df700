"""Run dbt in-process with dbt's programmatic API (`dbtRunner`) and show live progress.

dbt's own console output is switched off (`--log-level none`; the full debug log still goes to the log
file); the driver listens to dbt's structured events instead: `ConcurrencyLine` gives the number of nodes and
threads, `NodeStart` / `NodeFinished` the progress, `RunResultError` the messages of failed nodes.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from . import PROJECT_DIR
from .errors import DbtFailure

FAILED_STATUSES = {"error", "fail", "runtime error"}
# dbt reports these as nodes too, but leaves them out of the node count it announces.
UNCOUNTED = {"exposure"}


@dataclass
class DbtRun:
    """What the driver asks dbt to do."""

    database: Path
    raw_dir: Path
    command: str = "build"
    as_of: str | None = None
    target: str | None = None
    select: str | None = None
    full_refresh: bool = False
    skip_tests: bool = False
    # None keeps the profile's threads (LIFECYCLE_THREADS, default 2)
    threads: int | None = None
    extra_vars: dict = field(default_factory=dict)
    # A manifest from `parse` to build with instead of parsing again (a backfill's later dates)
    manifest: object | None = None

    def args(self) -> list[str]:
        args = [self.command, "--project-dir", str(PROJECT_DIR), "--log-level", "none"]
        if self.target:
            args += ["--target", self.target]
        if self.select:
            args += ["--select", self.select]
        if self.skip_tests:
            # `--select resource_type:model` alone still runs the models' tests (eager indirect selection).
            args += ["--exclude-resource-type", "test", "--exclude-resource-type", "unit_test"]
        if self.full_refresh:
            args.append("--full-refresh")
        if self.threads is not None:
            args += ["--threads", str(self.threads)]
        return args + self.vars_args()

    def vars_args(self) -> list[str]:
        dbt_vars = dict(self.extra_vars)
        if self.as_of:
            dbt_vars["as_of_date"] = self.as_of
        return ["--vars", repr(dbt_vars)] if dbt_vars else []


# Raw input from which a build from scratch runs on one dbt thread: between the two sizes measured (docs/driver.md
# "dbt threads"), 1.2 GB of Parquet at 10M orders, where two threads spilled, and 116 MB at 1M, where they did not.
ONE_THREAD_FROM_RAW_BYTES = 512 * 2**20


def threads_for(from_scratch: bool, raw_bytes: int, environ: Mapping[str, str] = os.environ) -> int | None:
    """dbt threads for a build: 1 for a build from scratch of a large input unless LIFECYCLE_THREADS is set, else None
    (the profile's). Two full-size models at once split DuckDB's cores and memory cap, and at 10M orders the session
    attribution then spilled to disk; smaller builds and normal runs gain from the second thread (docs/driver.md
    "dbt threads")."""
    if from_scratch and raw_bytes >= ONE_THREAD_FROM_RAW_BYTES and not environ.get("LIFECYCLE_THREADS"):
        return 1
    return None


class Progress:
    """Counts finished nodes; redraws one status line on a terminal, writes plain lines otherwise."""

    def __init__(self, stream: TextIO = sys.stderr, enabled: bool = True, interactive: bool | None = None):
        self.stream = stream
        self.enabled = enabled
        self.interactive = stream.isatty() if interactive is None else interactive
        self.started = time.monotonic()
        self.total = 0
        self.threads: int | None = None
        self.done = 0
        self.finished: set[str] = set()
        self.running: dict[str, str] = {}
        self.failures: list[dict] = []
        self.errors: list[str] = []
        self._lock = threading.Lock()

    # dbt calls this from its worker threads with an EventMsg (fields `info` and `data`).
    def __call__(self, event) -> None:
        try:
            self._handle(event)
        except Exception:  # a display problem must never break the dbt run
            self.enabled = False

    def _handle(self, event) -> None:
        name = event.info.name
        with self._lock:
            if name == "ConcurrencyLine":
                self.total = event.data.node_count
                self.threads = event.data.num_threads
            elif name in ("NodeStart", "NodeFinished") and event.data.node_info.resource_type in UNCOUNTED:
                return
            elif name == "NodeStart":
                info = event.data.node_info
                self.running[info.unique_id] = f"{info.resource_type} {info.node_name}"
                self._show(f"started {info.resource_type} {info.node_name}")
            elif name == "NodeFinished":
                info = event.data.node_info
                self.running.pop(info.unique_id, None)
                if info.unique_id in self.finished:  # some nodes (unit tests) report twice: count once
                    return
                self.finished.add(info.unique_id)
                self.done = len(self.finished)
                status = event.data.run_result.status or info.node_status
                if status.lower() in FAILED_STATUSES:
                    self.failures.append(
                        {"node": info.unique_id, "status": status, "message": event.data.run_result.message}
                    )
                self._show(f"{status} {info.resource_type} {info.node_name}", finished=True)
            elif name == "RunResultError" and event.data.msg:
                self.errors.append(event.data.msg)

    def elapsed(self) -> str:
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60:02d}:{seconds % 60:02d}"

    def _show(self, what: str, finished: bool = False) -> None:
        if not self.enabled:
            return
        total = max(self.total, self.done) or "?"
        if self.interactive:
            current = next(iter(self.running.values()), "") if finished else what.split(" ", 1)[1]
            width = shutil.get_terminal_size((120, 20)).columns - 1
            line = f"dbt {self.done}/{total} done  {self.elapsed()}  {current}"
            self.stream.write("\r" + line[:width].ljust(width))
        elif finished:
            self.stream.write(f"{time.strftime('%H:%M:%S')} dbt [{self.done}/{total}] {what} ({self.elapsed()})\n")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.interactive:
            self.stream.write("\r" + " " * (shutil.get_terminal_size((120, 20)).columns - 1) + "\r")
            self.stream.flush()


def target_path() -> Path:
    """dbt's target folder for the build: $DBT_TARGET_PATH (relative to the project) or the project's target/."""
    base = Path(os.environ.get("DBT_TARGET_PATH") or "target")
    return base if base.is_absolute() else PROJECT_DIR / base


@dataclass
class NodeResult:
    """One node of run_results.json."""

    unique_id: str
    status: str
    failures: int | None
    message: str | None
    compiled_code: str | None

    @property
    def name(self) -> str:
        """The node's name: model or test name (a unit test: model:test)."""
        parts = self.unique_id.split(".")
        return f"{parts[2]}:{parts[3]}" if parts[0] == "unit_test" else parts[2]

    @property
    def resource_type(self) -> str:
        return self.unique_id.split(".", 1)[0]


@dataclass
class Outcome:
    """What `dbt build` did, read from run_results.json."""

    results: list[NodeResult]

    @property
    def errors(self) -> list[NodeResult]:
        """Nodes that could not run (a model, a hook, a test whose query failed) and failed unit tests (the code
        is wrong, whatever the data)."""
        return [
            r
            for r in self.results
            if r.status in ("error", "runtime error") or (r.status == "fail" and r.resource_type == "unit_test")
        ]

    @property
    def failed_tests(self) -> list[NodeResult]:
        """Data tests that ran and returned failing rows: the data is wrong."""
        return [r for r in self.results if r.status == "fail" and r.resource_type == "test"]

    @property
    def warned_tests(self) -> list[NodeResult]:
        return [r for r in self.results if r.status == "warn"]

    def counts(self) -> dict[str, dict[str, int]]:
        """resource type -> status -> nodes, e.g. {"test": {"pass": 180}, "model": {"success": 40}}."""
        found: dict[str, dict[str, int]] = {}
        for r in self.results:
            per_type = found.setdefault(r.resource_type, {})
            per_type[r.status] = per_type.get(r.status, 0) + 1
        return found


def read_run_results(path: Path) -> Outcome:
    document = json.loads(path.read_text(encoding="utf-8"))
    return Outcome(
        [
            NodeResult(
                unique_id=item["unique_id"],
                status=(item.get("status") or "").lower(),
                failures=item.get("failures"),
                message=item.get("message"),
                compiled_code=item.get("compiled_code"),
            )
            for item in document.get("results", [])
        ]
    )


def _point_dbt_at(run: DbtRun) -> None:
    # The profile and the on-run-start hook read these; they must point at the warehouse and the raw folder.
    os.environ["LIFECYCLE_DUCKDB_PATH"] = str(run.database)
    os.environ["LIFECYCLE_RAW_DIR"] = str(run.raw_dir)
    os.environ.setdefault("DBT_PROFILES_DIR", str(PROJECT_DIR / "profiles"))


def parse(run: DbtRun) -> object | None:
    """The project parsed with `run`'s target and vars (`dbt parse`), or None if that fails. dbt parses anew when
    its vars change, so each date of a backfill would; the dates differ in as_of_date only, which compiled SQL
    reads and no model's configuration does, so one manifest serves them all (DbtRun.manifest)."""
    _point_dbt_at(run)
    from dbt.cli.main import dbtRunner

    args = ["parse", "--project-dir", str(PROJECT_DIR), "--log-level", "none"]
    args += ["--target", run.target] if run.target else []
    result = dbtRunner().invoke(args + run.vars_args())
    return result.result if result.success else None


def run_dbt(run: DbtRun, progress: Progress) -> Outcome:
    """Invoke dbt and return what its nodes did (run_results.json). Raises DbtFailure when dbt could not run at all
    (no run_results.json: a bad target, a project that does not compile)."""
    _point_dbt_at(run)

    from dbt.cli.main import dbtRunner  # imported late: dbt takes a second to import

    results_path = target_path() / "run_results.json"
    results_path.unlink(missing_ok=True)  # never read a previous invocation's results
    try:
        result = dbtRunner(manifest=run.manifest, callbacks=[progress]).invoke(run.args())
    finally:
        progress.close()
    if results_path.exists():
        outcome = read_run_results(results_path)
        if outcome.results or result.success:
            return outcome
    reasons = []
    if result.exception is not None:
        reasons.append(_first_lines(str(result.exception)))
    reasons.extend(_first_lines(message) for message in progress.errors[:3])
    detail = " | ".join(reasons[:5]) or "no message from dbt"
    raise DbtFailure(
        f"dbt {run.command} failed: {detail}. Nothing was published. "
        "The full dbt log is in logs/dbt.log (or $DBT_LOG_PATH)."
    )


def failing_rows(con, compiled_code: str | None, limit: int = 3) -> list[dict]:
    """The first rows a failed test returns, by running its compiled query again on the (read-only) warehouse;
    empty when it cannot run."""
    if not compiled_code:
        return []
    try:
        cursor = con.execute(f"select * from ({compiled_code.strip().rstrip(';')}) as failing limit {limit}")
        names = [column[0] for column in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]
    except Exception:  # the numbers are a courtesy: the failure itself is already known
        return []


def describe_failure(result: NodeResult, rows: list[dict]) -> str:
    """`name: N failing rows, e.g. col=value, …` for the error message."""
    count = result.failures if result.failures is not None else "?"
    text = f"{result.name}: {count} failing row{'s' if count != 1 else ''}"
    if rows:
        shown = "; ".join(", ".join(f"{k}={_short(v)}" for k, v in row.items()) for row in rows)
        text += f" ({shown})"
    elif result.message:
        text += f" ({_first_lines(result.message, 200)})"
    return text


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    text = str(value)
    return text if len(text) <= 60 else text[:59] + "…"


def _first_lines(text: str | None, limit: int = 400) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text or "")  # dbt colours unit test diffs
    flat = " ".join(line.strip() for line in text.strip().splitlines() if line.strip())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
