"""Run dbt against a raw folder and a throwaway DuckDB file, as the tests need it.

dbt runs in this process through its programmatic API (`dbtRunner`, as the driver runs it): a subprocess paid
for importing dbt (2-3 s) on every call. Each call gets a fresh dbtRunner, its own environment (raw folder,
database, profiles) restored afterwards, and a target folder beside its database (dbt's partial parsing then
serves the next run against the same database with the same vars). dbt runs with the project's profile but
keep_open true (one DuckDB connection per call instead of one per node); run_dbt closes it when the call
returns, so the test can open the file.

`dbt build` here leaves out dbt's unit tests unless asked (`unit_tests=True`): they do not read the data, so
they prove the same on every build; test_dbt_unit_tests.py runs them all once. Data tests run as before.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import hashlib
import io
import os
import shutil
import tempfile
import threading
import traceback
from dataclasses import dataclass
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[2]

# For builds whose tests read nothing of the prediction (the dbt Python models fit BG/NBD + Gamma-Gamma on every
# build, the slowest nodes of a small one): its models are left out as on engines without Python models.
WITHOUT_PREDICTION = {"prediction_enabled": False}

# For driver runs in a subprocess (the driver runs `dbt build`): leave out dbt's unit tests, as run_dbt does.
WITHOUT_UNIT_TESTS = {"DBT_EXCLUDE_RESOURCE_TYPES": "unit_test"}

# One dbt at a time: dbt keeps its flags, event logger and adapter registry in module globals.
_DBT_LOCK = threading.Lock()


@dataclass
class DbtResult:
    """What a dbt call printed, shaped like the subprocess.CompletedProcess the tests used to get."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str


def person_key(email: str) -> int:
    """customer_key as macros/person_key.sql derives it: the first 15 hex digits of md5(email) as a number."""
    return int(hashlib.md5(email.encode()).hexdigest()[:15], 16)  # noqa: S324


def run_dbt(
    args: list[str],
    raw_dir: Path,
    database: Path,
    dbt_vars: dict | None = None,
    check: bool = True,
    unit_tests: bool = False,
) -> DbtResult:
    """Run one dbt command in-process and return what it printed (dbt's console lines, without colours) and a
    return code: 0 success, 1 failed nodes, 2 an error that stopped dbt (as the dbt command line exits)."""
    from dbt.cli.main import dbtRunner  # imported late: dbt takes seconds to import
    from dbt_common.events.functions import capture_stdout_logs, stop_capture_stdout_logs

    common = [
        *("--project-dir", str(PROJECT_DIR), "--target-path", str(target_path(database))),
        *("--log-path", str(database.parent / "dbt-logs"), "--no-use-colors"),
        # The fixtures are dirty on purpose (a bad row per rule among a handful): their quarantine share is far
        # above the production limit, so the share test (quarantine_share_within_limit) is off unless a test sets
        # the var.
        *("--vars", repr({"max_quarantine_share": 1, **(dbt_vars or {})})),
    ]
    command = [*args, *common]
    if args[0] == "build" and not unit_tests:
        command += ["--exclude-resource-type", "unit_test"]
    variables = {
        "DBT_PROFILES_DIR": str(_profiles_dir()),
        "LIFECYCLE_RAW_DIR": str(raw_dir),
        "LIFECYCLE_DUCKDB_PATH": str(database),
        # the tests' hand-computed keys are unsalted: a salt in the developer's environment must not change them
        "LIFECYCLE_KEY_SALT": None,
    }
    output = io.StringIO()
    with _DBT_LOCK, environment(variables), contextlib.chdir(PROJECT_DIR):
        capture_stdout_logs(output)
        try:
            manifest = _parsed(common, database, dbt_vars or {}) if args[0] in PARSED_COMMANDS else None
            result = dbtRunner(manifest=manifest).invoke(command)
        finally:
            stop_capture_stdout_logs()
            close_dbt_connections()
    stderr = ""
    if result.success:
        returncode = 0
    elif result.exception is None:
        returncode = 1
    else:
        returncode = 2
        stderr = "".join(traceback.format_exception(result.exception))
    completed = DbtResult(command, returncode, output.getvalue(), stderr)
    if check and returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{completed.stdout[-6000:]}\n{completed.stderr[-3000:]}")
    return completed


# dbt parses the project anew (~4 s) whenever the target folder, the vars or the profile's database path differ
# from its last parse there, so nearly every call here would. A manifest parsed in this process is reused instead
# (dbtRunner(manifest=...), dbt's programmatic API) by every later call whose parse would read the same things:
# the vars (but these two, which only compiled SQL reads), and the database's name. Parsing reads no raw file.
RUNTIME_VARS = {"as_of_date", "max_quarantine_share"}
PARSED_COMMANDS = {"run", "build", "test"}
_MANIFESTS: dict[tuple, tuple] = {}


def _parsed(common: list[str], database: Path, dbt_vars: dict):
    """The parsed manifest for a call with these options (`common`: its vars and target) on `database`, parsed
    once per key; None if parsing failed (the call then parses and fails itself). The artifacts of the first
    parse are copied to each later target folder."""
    from dbt.cli.main import dbtRunner

    key = (database.stem, repr(sorted((k, repr(v)) for k, v in dbt_vars.items() if k not in RUNTIME_VARS)))
    if key not in _MANIFESTS:
        result = dbtRunner().invoke(["parse", *common])
        if not result.success:
            return None
        _MANIFESTS[key] = (result.result, target_path(database))
    manifest, first_target = _MANIFESTS[key]
    target = target_path(database)
    if target != first_target:
        target.mkdir(parents=True, exist_ok=True)
        for artifact in ("manifest.json", "semantic_manifest.json"):
            shutil.copyfile(first_target / artifact, target / artifact)
    return manifest


@functools.cache
def _profiles_dir() -> Path:
    """profiles/profiles.yml with keep_open true, in a folder of this process. With keep_open false dbt-duckdb
    opens and closes (and so checkpoints) the database file around every model and test, a fifth of a small
    build's time; run_dbt closes the database itself after each call (close_dbt_connections), so the file is
    handed back all the same. Everything else is the project's profile, unchanged."""
    text = (PROJECT_DIR / "profiles" / "profiles.yml").read_text()
    assert text.count("keep_open: false") == 1, "the profile no longer sets keep_open: false; update the harness"
    folder = Path(tempfile.mkdtemp(prefix="dbt-test-profiles-"))
    atexit.register(shutil.rmtree, folder, True)
    (folder / "profiles.yml").write_text(text.replace("keep_open: false", "keep_open: true"))
    return folder


@contextlib.contextmanager
def environment(values: dict[str, str | None]):
    """Set (or, for None, remove) environment variables for the block; restore them after."""
    previous = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def close_dbt_connections() -> None:
    """Close the DuckDB database dbt-duckdb keeps for this process between dbt calls (its connection manager holds
    one environment per process until the next call with other credentials or the process ends). With the
    profile's keep_open false it is closed already, but an in-memory one (as `dbt source freshness` uses, with
    the published warehouse attached) stays open and would keep that file busy."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def target_path(database: Path) -> Path:
    """dbt's target folder for the runs against `database`."""
    return database.parent / "dbt-target"


def compiled_sql(database: Path, model_file: str) -> str:
    """The select the last dbt run against `database` compiled for `model_file` (path under models/). Not the
    run/ file: for an incremental model that holds only the final delete/insert statement."""
    return (target_path(database) / "compiled" / "customer_lifecycle" / "models" / model_file).read_text()


def query(database: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(sql).fetchall()
