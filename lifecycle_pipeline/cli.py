"""Command line of the pipeline driver (`scripts/run_pipeline.py`): options, phases, exit codes."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from . import PROJECT_DIR, freshness, publish, report
from . import checks as output_checks
from . import summary as run_summary
from .dbt_step import DbtRun, Progress, run_dbt, threads_for
from .errors import EXIT_CODES_HELP, EXIT_OK, EXIT_UNEXPECTED, InputError, PipelineError, ValidationFailure
from .inputs import check_raw_dir, parse_as_of, parse_as_of_range, raw_bytes

DEFAULT_RAW_DIR = PROJECT_DIR / "data" / "sample"
DEFAULT_GENERATED_DIR = PROJECT_DIR / "data" / "generated"
DEFAULT_DATABASE = PROJECT_DIR / "data" / "warehouse" / "customer_lifecycle.duckdb"
GENERATOR = PROJECT_DIR / "scripts" / "generate_data.py"

DESCRIPTION = """\
Build the customer-lifecycle pipeline on a folder of raw files, check the results and publish them.

Phases: (generate) -> check inputs -> dbt build (in-process, into a work copy of the database) ->
validate outputs -> publish (atomic replace of the database, Parquet export, HTML report).
A run that fails at any point leaves the previously published outputs untouched."""

EPILOG = (
    EXIT_CODES_HELP
    + """
examples:
  scripts/run_pipeline.py                                   # bundled sample, as of the latest order
  scripts/run_pipeline.py --raw-dir /data/shop --as-of 2026-10-31 --export-dir /srv/bi/lifecycle
  scripts/run_pipeline.py --generate --customers 5000 --report output/report.html --json
"""
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_pipeline.py",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    inputs = parser.add_argument_group("inputs")
    inputs.add_argument(
        "--raw-dir",
        type=Path,
        help="folder with orders, sessions, newsletter_signups, email_events as .csv or .parquet "
        f"(default: $LIFECYCLE_RAW_DIR or the bundled sample {DEFAULT_RAW_DIR.relative_to(PROJECT_DIR)}; "
        f"with --generate: {DEFAULT_GENERATED_DIR.relative_to(PROJECT_DIR)})",
    )
    inputs.add_argument(
        "--as-of",
        metavar="YYYY-MM-DD",
        help="date the lifecycle is computed for, passed to dbt as var as_of_date "
        "(default: the date of the latest valid order in the data)",
    )
    inputs.add_argument(
        "--as-of-range",
        nargs=2,
        metavar=("START", "END"),
        help="backfill: build every as-of date from START to END (YYYY-MM-DD, both included) in steps of --step, "
        "oldest first, recording each in marts.customer_stage_history; the marts show END",
    )
    inputs.add_argument(
        "--step",
        default="7d",
        metavar="Nd|Nw",
        help="with --as-of-range: days (7d) or weeks (1w) between as-of dates (default: 7d)",
    )
    inputs.add_argument(
        "--generate",
        action="store_true",
        help="first make fresh data with scripts/generate_data.py into the raw folder",
    )
    inputs.add_argument("--customers", type=int, metavar="N", help="with --generate: number of customers")

    build = parser.add_argument_group("build")
    build.add_argument(
        "--database",
        type=Path,
        help=f"published DuckDB file (default: $LIFECYCLE_DUCKDB_PATH or {DEFAULT_DATABASE.relative_to(PROJECT_DIR)})",
    )
    build.add_argument("--target", metavar="NAME", help="dbt target of profiles/profiles.yml (default: duckdb)")
    build.add_argument(
        "--full-refresh",
        action="store_true",
        help="rebuild incremental models from the raw files (the stage history is kept)",
    )
    build.add_argument(
        "--freshness",
        choices=freshness.MODES,
        help="dbt source freshness before building: 'error' fails the run when a raw dataset is older than "
        "freshness_error_after_hours, 'warn' only reports, 'off' skips it (default: error; warn for the bundled "
        "sample, --generate and runs for given past dates)",
    )
    build.add_argument("--select", metavar="SELECTOR", help="dbt node selection, passed to dbt build --select")
    build.add_argument(
        "--skip-tests",
        action="store_true",
        help="build the models only, without dbt's data and unit tests (e.g. to time the build; run them later "
        "with dbt test)",
    )
    build.add_argument(
        "--max-quarantine-share",
        type=float,
        default=0.05,
        metavar="SHARE",
        help="fail the run when more than this share of a source's rows is quarantined (default: 0.05)",
    )

    outputs = parser.add_argument_group("outputs")
    outputs.add_argument("--export-dir", type=Path, metavar="DIR", help="also write every mart as DIR/<mart>.parquet")
    outputs.add_argument("--report", type=Path, metavar="PATH", help="write the HTML report to PATH")
    outputs.add_argument("--json", action="store_true", help="print the run summary as JSON on stdout")
    outputs.add_argument("--quiet", action="store_true", help="no progress and no text summary; errors only")
    outputs.add_argument("--debug", action="store_true", help="show the Python traceback of an error")
    return parser


@dataclass
class Run:
    """State shared by the phases of one run."""

    args: argparse.Namespace
    raw_dir: Path
    database: Path
    as_of: dt.date | None
    as_of_dates: list[dt.date | None] = field(default_factory=lambda: [None])
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    phases: dict[str, float] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    work: Path | None = None
    raw_bytes: int = 0

    @property
    def builds_on_published(self) -> bool:
        """A normal run on an existing warehouse; otherwise every model is rebuilt from all raw rows."""
        return self.database.is_file() and not self.args.full_refresh

    def log(self, message: str) -> None:
        if not self.args.quiet:
            print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


class timed:
    """Context manager that records the seconds a phase took in run.phases."""

    def __init__(self, run: Run, phase: str):
        self.run, self.phase = run, phase

    def __enter__(self):
        self.start = time.monotonic()
        return self

    def __exit__(self, *exc):
        self.run.phases[self.phase] = round(time.monotonic() - self.start, 2)
        return False


# --- phases -------------------------------------------------------------------------------------------


def phase_generate(run: Run) -> None:
    if not GENERATOR.exists():
        raise InputError(f"--generate needs {GENERATOR}, which is not in this checkout.")
    command = [sys.executable, str(GENERATOR), "--out", str(run.raw_dir)]
    if run.args.customers:
        command += ["--customers", str(run.args.customers)]
    run.log(f"generating data into {run.raw_dir}")
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last = (result.stderr or result.stdout).strip().splitlines()[-1:] or ["no output"]
        raise InputError(f"The data generator failed (exit {result.returncode}): {last[0]}")


def phase_inputs(run: Run) -> None:
    files = check_raw_dir(run.raw_dir, os.environ.get("LIFECYCLE_RAW_FORMAT", "auto"))
    run.raw_bytes = raw_bytes(files)
    run.log("inputs ok: " + ", ".join(f.path.name for f in files))
    check_freshness(run)


def freshness_mode(run: Run) -> str:
    if run.args.freshness:
        return run.args.freshness
    historic = run.args.generate or run.raw_dir == DEFAULT_RAW_DIR.resolve() or run.as_of_dates != [None]
    return "warn" if historic else "error"


def check_freshness(run: Run) -> None:
    """Part of the inputs phase: stale raw data fails the run (mode 'error') before anything is built."""
    mode = freshness_mode(run)
    if mode == "off":
        return
    # A normal run on an existing warehouse: folders have only their new files parsed (docs/driver.md).
    published = run.database if run.builds_on_published else None
    results = freshness.check(run.raw_dir, run.args.target, published)
    if results is None:
        run.log("freshness not checked: dbt source freshness could not run (the build will show why)")
        return
    run.summary["freshness"] = {r.dataset: r.as_dict() for r in results}
    for message in freshness.enforce(results, mode):
        run.log(f"freshness warning: {message}")
    run.log(f"freshness checked ({mode}): " + ", ".join(f"{r.dataset} {r.status}" for r in results))


def phase_work_copy(run: Run, work_copy: publish.BackgroundWorkCopy) -> None:
    # Always start from the published database, even with --full-refresh: dbt then rebuilds every model but
    # keeps customer_stage_history (full_refresh: false), which cannot be re-derived. The copy started before
    # the input checks; this phase is the time left to wait for it.
    run.work = work_copy.wait()


def phase_build(run: Run) -> None:
    for number, as_of in enumerate(run.as_of_dates):
        label = f" as of {as_of}" if as_of else ""
        if len(run.as_of_dates) > 1:
            label += f" ({number + 1} of {len(run.as_of_dates)})"
        run.log(f"dbt build{label} into work copy {run.work}")
        progress = Progress(enabled=not run.args.quiet)
        from_scratch = number == 0 and not run.builds_on_published  # later dates of a range build on the first
        threads = threads_for(from_scratch, run.raw_bytes)
        dbt_run = DbtRun(
            database=run.work,
            raw_dir=run.raw_dir,
            as_of=as_of.isoformat() if as_of else None,
            target=run.args.target,
            select=run.args.select,
            skip_tests=run.args.skip_tests,
            # the first build rebuilds everything; the later dates of a range reuse it incrementally
            full_refresh=run.args.full_refresh and number == 0,
            threads=threads,
        )
        run_dbt(dbt_run, progress)
        run.summary.setdefault("dbt_threads", []).append(progress.threads)
        run.log(f"dbt done: {progress.done} models, tests and other nodes finished on {progress.threads} thread(s)")


def phase_validate(run: Run, con: duckdb.DuckDBPyConnection) -> None:
    results = output_checks.run_checks(con, run.as_of, run.args.max_quarantine_share)
    run.summary.update(run_summary.collect(con))
    run.summary["checks"] = [check.as_dict() for check in results]
    failed = [check for check in results if not check.ok]
    if failed:
        details = "; ".join(f"check '{check.name}' failed ({check.detail})" for check in failed)
        raise ValidationFailure(
            f"Output validation failed, so nothing was published: {details}. "
            "The previously published database, export and report are unchanged."
        )
    run.log(f"validation ok: {len(results)} checks passed")


def phase_publish(run: Run, con: duckdb.DuckDBPyConnection) -> str | None:
    """Export Parquet and render the report from the work copy; returns the report HTML (written later)."""
    run.summary["status"] = "succeeded"  # every check passed; only writing the outputs is left
    run.summary["phases"] = run.phases  # the report shows the phases measured so far
    run.summary["outputs"] = {"database": str(run.database)}
    if run.args.export_dir:
        export_dir = run.args.export_dir.resolve()
        manifest = {"as_of_date": run.summary.get("as_of_date"), "run_started_at": run.started_at}
        run.summary["exported_rows"] = publish.export_marts(con, export_dir, manifest)
        run.summary["outputs"]["parquet"] = str(export_dir)
    if run.args.report:
        run.summary["outputs"]["report"] = str(run.args.report.resolve())
    return report.render(con, run.summary) if run.args.report else None


# --- main ---------------------------------------------------------------------------------------------


def execute(run: Run) -> None:
    with publish.run_lock(run.database):
        if run.args.generate:
            with timed(run, "generate"):
                phase_generate(run)
        work_copy = publish.BackgroundWorkCopy(run.database)
        try:
            with timed(run, "inputs"):
                phase_inputs(run)
            with timed(run, "work_copy"):
                phase_work_copy(run, work_copy)
            with timed(run, "dbt"):
                phase_build(run)
            html_report = None
            with timed(run, "validate"), duckdb.connect(str(run.work), read_only=True) as con:
                phase_validate(run, con)
            with timed(run, "publish"):
                with duckdb.connect(str(run.work), read_only=True) as con:
                    html_report = phase_publish(run, con)
                publish.publish_database(run.work, run.database)
                if html_report is not None:
                    publish.write_atomically(run.args.report.resolve(), html_report)
        finally:
            work_copy.discard()


def make_run(args: argparse.Namespace) -> Run:
    if args.customers is not None and not args.generate:
        raise InputError("--customers only makes sense with --generate.")
    if not 0 <= args.max_quarantine_share <= 1:
        raise InputError(f"--max-quarantine-share must be between 0 and 1, got {args.max_quarantine_share}.")
    if args.raw_dir:
        raw_dir = args.raw_dir
    elif args.generate:
        raw_dir = DEFAULT_GENERATED_DIR
    else:
        raw_dir = Path(os.environ.get("LIFECYCLE_RAW_DIR") or DEFAULT_RAW_DIR)
    database = args.database or Path(os.environ.get("LIFECYCLE_DUCKDB_PATH") or DEFAULT_DATABASE)
    if args.as_of_range:
        if args.as_of:
            raise InputError("Give either --as-of or --as-of-range, not both.")
        as_of_dates = parse_as_of_range(*args.as_of_range, args.step)
    else:
        as_of_dates = [parse_as_of(args.as_of)]
    return Run(
        args=args,
        raw_dir=raw_dir.resolve(),
        database=database.resolve(),
        as_of=as_of_dates[-1],
        as_of_dates=as_of_dates,
    )


def _stop_on_sigterm(signum, frame) -> None:
    # A scheduler stopping the run: unwind like Ctrl-C so the work copy is removed; nothing is published.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.monotonic()
    run = None
    exit_code, error_text = EXIT_OK, None
    try:
        run = make_run(args)
        run.summary.update({"raw_dir": str(run.raw_dir), "started_at": run.started_at})
        execute(run)
    except PipelineError as error:
        exit_code, error_text = error.exit_code, f"{error.phase} failed: {error.message.rstrip('.')}."
        if args.debug:
            traceback.print_exc()
    except KeyboardInterrupt:
        exit_code, error_text = 130, "interrupted; the previously published outputs are unchanged."
    except Exception as error:  # anything unforeseen: one paragraph, the traceback only with --debug
        exit_code = EXIT_UNEXPECTED
        error_text = f"unexpected error: {type(error).__name__}: {error}. Run again with --debug for the traceback."
        if args.debug:
            traceback.print_exc()

    summary = run.summary if run else {}
    summary["status"] = "succeeded" if exit_code == EXIT_OK else "failed"
    summary["exit_code"] = exit_code
    if run:
        summary["phases"] = run.phases
    summary["elapsed_seconds"] = round(time.monotonic() - started, 2)
    if error_text:
        summary["error"] = error_text
        print(f"\nERROR (exit {exit_code}) {error_text}", file=sys.stderr)
    if args.json:
        print(json.dumps(summary, indent=2, default=str))
    elif not args.quiet and exit_code == EXIT_OK:
        print(run_summary.format_text(summary))
    return exit_code
