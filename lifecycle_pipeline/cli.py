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

from . import PROJECT_DIR, freshness, postgres, publish
from . import summary as run_summary
from .dbt_step import (
    DbtRun,
    Outcome,
    Progress,
    describe_failure,
    failing_rows,
    parse,
    run_dbt,
    target_path,
    threads_for,
)
from .errors import (
    EXIT_CODES_HELP,
    EXIT_OK,
    EXIT_UNEXPECTED,
    DbtFailure,
    InputError,
    PipelineError,
    ValidationFailure,
)
from .inputs import check_raw_dir, landed_batches, parse_as_of, parse_as_of_range, raw_bytes

DEFAULT_RAW_DIR = PROJECT_DIR / "data" / "sample"
DEFAULT_GENERATED_DIR = PROJECT_DIR / "data" / "generated"
DEFAULT_DATABASE = PROJECT_DIR / "data" / "warehouse" / "customer_lifecycle.duckdb"
DEFAULT_POSTGRES_COPY = PROJECT_DIR / "data" / "warehouse" / "postgres_release.duckdb"
DEFAULT_RELEASE_DIR = PROJECT_DIR / "output" / "releases"
DEFAULT_ACTIVATION_DIR = PROJECT_DIR / "output" / "activation"
DEFAULT_KEEP_RELEASES = 3
DEFAULT_UMASK = "077"
GENERATOR = PROJECT_DIR / "scripts" / "generate_data.py"

DESCRIPTION = """\
Build the customer-lifecycle pipeline on a folder of raw files and, when every dbt test passed, publish a release.

Phases: (generate) -> check inputs and output folders -> dbt build (in-process, in the warehouse) -> release
(a folder with the BI marts as DuckDB + Parquet, the manifest and the HTML report; the marts with emails in
a separate activation folder), made current by one symlink swap. A run that fails or is killed at any point
before the swap publishes nothing; the current release stays as it was."""

EPILOG = (
    EXIT_CODES_HELP
    + """
examples:
  scripts/run_pipeline.py                                   # bundled sample, as of the latest order
  scripts/run_pipeline.py --raw-dir /data/shop --as-of 2026-10-31 --release-dir /srv/bi/lifecycle
  scripts/run_pipeline.py --generate --customers 5000 --json
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
        help="the warehouse: the DuckDB file dbt builds in, every schema (default: $LIFECYCLE_DUCKDB_PATH or "
        f"{DEFAULT_DATABASE.relative_to(PROJECT_DIR)}); internal, BI reads the release",
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
        help="build the models only, without dbt's data and unit tests (e.g. to time the build); publishes no "
        "release, since nothing was tested",
    )
    build.add_argument(
        "--max-quarantine-share",
        type=float,
        metavar="SHARE",
        help="dbt var max_quarantine_share: the data test quarantine_share_within_limit fails the run when more "
        "than this share of a source's rows is quarantined (default: the var's, 0.05)",
    )

    outputs = parser.add_argument_group("outputs")
    outputs.add_argument(
        "--release-dir",
        type=Path,
        metavar="DIR",
        help="where BI reads: DIR/current is the latest release (lifecycle.duckdb with the BI marts, one Parquet "
        "file per mart, _manifest.json, report.html) (default: $LIFECYCLE_RELEASE_DIR or "
        f"{DEFAULT_RELEASE_DIR.relative_to(PROJECT_DIR)})",
    )
    outputs.add_argument(
        "--activation-dir",
        type=Path,
        metavar="DIR",
        help="where activation reads: DIR/current holds the marts with emails (campaign_audiences, "
        "abandoned_cart_reminders) as Parquet; must not lie inside --release-dir (default: "
        f"$LIFECYCLE_ACTIVATION_DIR or {DEFAULT_ACTIVATION_DIR.relative_to(PROJECT_DIR)})",
    )
    outputs.add_argument(
        "--keep-releases",
        type=int,
        metavar="N",
        help=f"releases kept in each folder, the current one included (default: $LIFECYCLE_KEEP_RELEASES or "
        f"{DEFAULT_KEEP_RELEASES})",
    )
    outputs.add_argument(
        "--umask",
        metavar="OCTAL",
        help="umask for everything the run creates (default: $LIFECYCLE_UMASK or 077: files 0600, folders 0700, "
        "owner only); 027 lets the group read",
    )
    outputs.add_argument(
        "--export-dir",
        type=Path,
        metavar="DIR",
        help="also make DIR a symlink to the current release, so DIR/<mart>.parquet and DIR/_manifest.json keep "
        "working (an earlier version's export folder there is replaced)",
    )
    outputs.add_argument(
        "--report", type=Path, metavar="PATH", help="also make PATH a symlink to the current release's report.html"
    )
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
    release_dir: Path
    activation_dir: Path
    keep_releases: int
    as_of_dates: list[dt.date | None] = field(default_factory=lambda: [None])
    started_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))
    phases: dict[str, float] = field(default_factory=dict)
    summary: dict = field(default_factory=dict)
    raw_bytes: int = 0
    published: bool = False  # the new release is current: nothing may fail the run any more

    @property
    def on_postgres(self) -> bool:
        """--target postgres: build into new schemas, swap them, export the release from a local copy."""
        return (self.args.target or "").lower() == "postgres"

    @property
    def builds_on_published(self) -> bool:
        """A normal run on an existing warehouse; otherwise every model is rebuilt from all raw rows."""
        return self.database.is_file() and not self.args.full_refresh

    @property
    def links(self) -> dict[str, tuple[Path, Path]]:
        """--export-dir and --report: link path -> what it points at, through `current`."""
        current = self.release_dir / publish.CURRENT
        links = {}
        if self.args.export_dir:
            links["--export-dir"] = (_absolute(self.args.export_dir), current)
        if self.args.report:
            links["--report"] = (_absolute(self.args.report), current / publish.REPORT)
        return links

    def log(self, message: str) -> None:
        if not self.args.quiet:
            print(f"{time.strftime('%H:%M:%S')} {message}", file=sys.stderr, flush=True)


def _absolute(path: Path) -> Path:
    """An absolute path without resolving its last part (a link there is replaced, not followed)."""
    path = Path(os.path.abspath(path))
    return path.parent.resolve() / path.name


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
    if run.on_postgres:
        # Raw tables in the warehouse: the build's on-run-start hook checks them (docs/engines.md).
        run.log("inputs: raw tables raw.<dataset> in PostgreSQL, checked by the build")
        return
    # A normal run on an existing warehouse: the files a folder has landed already were checked when they landed.
    landed = landed_batches(run.database) if run.builds_on_published else None
    files = check_raw_dir(run.raw_dir, os.environ.get("LIFECYCLE_RAW_FORMAT", "auto"), landed)
    run.raw_bytes = raw_bytes(files)
    run.log("inputs ok: " + ", ".join(f.path.name for f in files))
    check_freshness(run)


def freshness_mode(run: Run) -> str:
    if run.args.freshness:
        return run.args.freshness
    if run.on_postgres:
        return "off"  # raw tables there: run `dbt source freshness --target postgres` (docs/engines.md)
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


def phase_build(run: Run) -> None:
    """One dbt build per as-of date, in place in the warehouse; stops at the first build with a failed node. On
    PostgreSQL the builds go to new schemas, made live in one transaction when every test passed."""
    if run.on_postgres:
        connection = postgres.connect()
        try:
            copied = postgres.prepare_build_schemas(connection)
        finally:
            connection.close()
        run.log(f"building into schemas *{postgres.SUFFIX} (state copied: {', '.join(copied) or 'none yet'})")
    _build_each_date(run)
    if run.on_postgres and not run.args.skip_tests:
        connection = postgres.connect()
        try:
            postgres.swap_schemas(connection)
        finally:
            connection.close()
        run.log("schemas swapped: the new build is live in PostgreSQL")


def _build_each_date(run: Run) -> None:
    manifest = None  # a range's dates share one parse (dbt_step.parse)
    for number, as_of in enumerate(run.as_of_dates):
        label = f" as of {as_of}" if as_of else ""
        if len(run.as_of_dates) > 1:
            label += f" ({number + 1} of {len(run.as_of_dates)})"
        run.log(f"dbt build{label} in " + ("PostgreSQL" if run.on_postgres else str(run.database)))
        progress = Progress(enabled=not run.args.quiet)
        from_scratch = number == 0 and not run.builds_on_published  # later dates of a range build on the first
        threads = threads_for(from_scratch, run.raw_bytes)
        dbt_vars = {}
        if run.on_postgres:
            dbt_vars["schema_suffix"] = postgres.SUFFIX
        if run.args.max_quarantine_share is not None:
            dbt_vars["max_quarantine_share"] = run.args.max_quarantine_share
        dbt_run = DbtRun(
            database=run.database,
            raw_dir=run.raw_dir,
            as_of=as_of.isoformat() if as_of else None,
            target=run.args.target,
            select=run.args.select,
            skip_tests=run.args.skip_tests,
            # the first build rebuilds everything; the later dates of a range reuse it incrementally
            full_refresh=run.args.full_refresh and number == 0,
            threads=threads,
            extra_vars=dbt_vars,
            manifest=manifest,
        )
        if len(run.as_of_dates) > 1 and manifest is None:
            manifest = dbt_run.manifest = parse(dbt_run)
        outcome = run_dbt(dbt_run, progress)
        run.summary.setdefault("dbt_threads", []).append(progress.threads)
        run.summary["tests"] = outcome.counts()
        check_outcome(run, outcome)
        run.log(f"dbt done: {progress.done} models, tests and other nodes finished on {progress.threads} thread(s)")


def check_outcome(run: Run, outcome: Outcome) -> None:
    """Exit 3 for nodes that could not run, 4 for data tests that failed, each named with its numbers."""
    if outcome.errors:
        details = "; ".join(describe_failure(node, []) for node in outcome.errors[:5])
        more = f" (and {len(outcome.errors) - 5} more)" if len(outcome.errors) > 5 else ""
        raise DbtFailure(
            f"dbt build failed: {details}{more}. Nothing was published; the current release is unchanged. "
            "The full dbt log is in logs/dbt.log (or $DBT_LOG_PATH)."
        )
    failed = outcome.failed_tests
    if not failed:
        run.summary["checks"] = _checks(outcome)
        return
    if run.on_postgres:
        details = [describe_failure(test, []) for test in failed]
    else:
        with duckdb.connect(str(run.database), read_only=True) as con:
            details = [describe_failure(test, failing_rows(con, test.compiled_code)) for test in failed]
    run.summary["failed_tests"] = details
    raise ValidationFailure(
        f"{len(failed)} data test(s) failed, so nothing was published: " + "; ".join(details) + ". "
        "The current release is unchanged."
    )


def _checks(outcome: Outcome) -> list[dict]:
    """The tests dbt ran, for the summary and the report's checks table."""
    rows = []
    for kind, label in (("test", "dbt data tests"), ("unit_test", "dbt unit tests")):
        counts = outcome.counts().get(kind, {})
        if counts:
            passed = counts.get("pass", 0)
            detail = f"{passed} of {sum(counts.values())} passed" + "".join(
                f", {n} {status}" for status, n in sorted(counts.items()) if status != "pass"
            )
            ok = passed + counts.get("warn", 0) == sum(counts.values())
            rows.append({"check": label, "ok": ok, "detail": detail})
    warned = [node.name for node in outcome.warned_tests]
    if warned:
        rows.append({"check": "warnings", "ok": True, "detail": ", ".join(warned)})
    return rows


def phase_release(run: Run) -> None:
    """Write the release from the warehouse (read-only) and make it current; the summary and the report are
    computed beside it. On PostgreSQL, from a local DuckDB copy (--database) of what they read."""
    if run.on_postgres:
        connection = postgres.connect()
        try:
            copied = postgres.mirror_to_duckdb(connection, run.database, postgres.release_relations(connection))
        finally:
            connection.close()
        run.log(f"copied {len(copied)} relations from PostgreSQL into {run.database} for the release")
    with duckdb.connect(str(run.database), read_only=True) as con:
        if run.args.skip_tests:
            run.summary.update(run_summary.collect(con))
            run.log("no release: --skip-tests ran no test, and only a tested build is published")
            return
        catalog = con.execute("select current_database()").fetchone()[0]
        plan = publish.Plan(
            releases=run.release_dir,
            activation=run.activation_dir,
            keep=run.keep_releases,
            warehouse=run.database,
            catalog=catalog,
            marts=publish.marts_from_manifest(
                target_path() / "manifest.json", "marts" + (postgres.SUFFIX if run.on_postgres else "")
            ),
            run_started_at=run.started_at,
            links={option: (link, target) for option, (link, target) in run.links.items()},
        )
        outputs = {
            "warehouse": str(run.database),
            "release": str(run.release_dir / publish.CURRENT),
            "activation": str(run.activation_dir / publish.CURRENT),
            "report": str(run.release_dir / publish.CURRENT / publish.REPORT),
        }
        outputs.update({f"{option.lstrip('-')} link": str(link) for option, (link, _) in run.links.items()})

        def render_report() -> str:
            from . import report  # matplotlib: imported by the runs that publish only (1.3 s)

            cursor = con.cursor()
            try:
                run.summary.update(run_summary.collect(cursor))
                run.summary["status"] = "succeeded"  # every test passed; only writing the release is left
                run.summary["phases"] = dict(run.phases)  # the report shows the phases measured so far
                run.summary["outputs"] = outputs
                return report.render(cursor, run.summary)
            finally:
                cursor.close()

        def committed() -> None:
            run.published = True

        published = publish.publish(con, plan, render_report, run.log, on_commit=committed)
    run.summary["release"] = {
        "id": published.release_id,
        "tables": published.tables,
        "activation_tables": published.activation_tables,
        "seconds": published.seconds,
        "removed_old_releases": published.pruned,
    }
    run.log(f"release {published.release_id} is current in {run.release_dir} (activation: {run.activation_dir})")


# --- main ---------------------------------------------------------------------------------------------


def execute(run: Run, build: bool = True) -> None:
    # Up front, before anything is built: the output folders and links can be written (else exit 2).
    publish.check_destinations(run.release_dir, run.activation_dir, run.database, run.links)
    locks = [run.database.parent / f"{run.database.name}.lock", run.release_dir / ".lock", run.activation_dir / ".lock"]
    with publish.run_lock(*locks):
        publish.remove_legacy_work_copy(run.database)
        if build:
            if run.args.generate:
                with timed(run, "generate"):
                    phase_generate(run)
            with timed(run, "inputs"):
                phase_inputs(run)
            with timed(run, "dbt"):
                phase_build(run)
        with timed(run, "release"):
            phase_release(run)


def make_run(args: argparse.Namespace) -> Run:
    # First: every file and folder the run creates (warehouse, releases, logs) gets this umask.
    os.umask(parse_umask(args.umask or os.environ.get("LIFECYCLE_UMASK") or DEFAULT_UMASK))
    if args.customers is not None and not args.generate:
        raise InputError("--customers only makes sense with --generate.")
    if args.max_quarantine_share is not None and not 0 <= args.max_quarantine_share <= 1:
        raise InputError(f"--max-quarantine-share must be between 0 and 1, got {args.max_quarantine_share}.")
    if args.raw_dir:
        raw_dir = args.raw_dir
    elif args.generate:
        raw_dir = DEFAULT_GENERATED_DIR
    else:
        raw_dir = Path(os.environ.get("LIFECYCLE_RAW_DIR") or DEFAULT_RAW_DIR)
    if (args.target or "").lower() == "postgres":
        # the warehouse is PostgreSQL; this file is only the local copy the release is exported from
        database = args.database or DEFAULT_POSTGRES_COPY
    else:
        database = args.database or Path(os.environ.get("LIFECYCLE_DUCKDB_PATH") or DEFAULT_DATABASE)
    release_dir = args.release_dir or Path(os.environ.get("LIFECYCLE_RELEASE_DIR") or DEFAULT_RELEASE_DIR)
    activation_dir = args.activation_dir or Path(os.environ.get("LIFECYCLE_ACTIVATION_DIR") or DEFAULT_ACTIVATION_DIR)
    keep = args.keep_releases
    if keep is None:
        text = os.environ.get("LIFECYCLE_KEEP_RELEASES") or str(DEFAULT_KEEP_RELEASES)
        keep = int(text) if text.strip().isdigit() else 0
    if keep < 1:
        raise InputError("--keep-releases (or $LIFECYCLE_KEEP_RELEASES) must be a whole number of at least 1.")
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
        release_dir=release_dir.resolve(),
        activation_dir=activation_dir.resolve(),
        keep_releases=keep,
    )


def parse_umask(text: str) -> int:
    """An octal umask such as 077 or 0027; it may only take permissions away from the owner's read and write."""
    try:
        value = int(text.strip(), 8)
    except ValueError:
        raise InputError(f"--umask '{text}' is not an octal number such as 077 or 027.") from None
    if not 0 <= value <= 0o777 or value & 0o700:
        raise InputError(f"--umask '{text}' must leave the owner's permissions alone (e.g. 077, 027, 022).")
    return value


def _stop_on_sigterm(signum, frame) -> None:
    # A scheduler stopping the run: unwind like Ctrl-C (temporary folders are removed); nothing is published.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None, build: bool = True) -> int:
    """The driver; returns the exit code. `build=False` runs the release phase alone on the warehouse as it is: the
    tests' kill loop uses it to stop the publish step many times after one dbt build. It is no option of the
    command line, which publishes only what dbt has just built and tested."""
    args = build_parser().parse_args(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    started = time.monotonic()
    run = None
    exit_code, error_text = EXIT_OK, None
    try:
        run = make_run(args)
        run.summary.update({"raw_dir": str(run.raw_dir), "started_at": run.started_at})
        execute(run, build)
    except PipelineError as error:
        exit_code, error_text = error.exit_code, f"{error.phase} failed: {error.message.rstrip('.')}."
        if args.debug:
            traceback.print_exc()
    except KeyboardInterrupt:
        if run is not None and run.published:
            print("interrupted after the new release was made current: the run succeeded", file=sys.stderr)
        else:
            exit_code, error_text = 130, "interrupted; nothing was published, the current release is unchanged."
    except Exception as error:  # anything unforeseen: one paragraph, the traceback only with --debug
        if args.debug:
            traceback.print_exc()
        if run is not None and run.published:  # after the swap nothing fails the run
            print(f"warning after the new release was made current: {type(error).__name__}: {error}", file=sys.stderr)
        else:
            exit_code = EXIT_UNEXPECTED
            error_text = (
                f"unexpected error: {type(error).__name__}: {error}. Nothing was published. "
                "Run again with --debug for the traceback."
            )

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
        try:
            print(run_summary.format_text(summary))
        except Exception as error:  # the release is current: a summary that cannot be shown fails nothing
            print(f"warning: the summary could not be shown: {type(error).__name__}: {error}", file=sys.stderr)
    return exit_code
