"""Run dbt against a raw folder and a throwaway DuckDB file, as the tests need it."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[2]
DBT = Path(sys.executable).parent / "dbt"


def person_key(email: str) -> int:
    """customer_key as macros/person_key.sql derives it: the first 15 hex digits of md5(email) as a number."""
    return int(hashlib.md5(email.encode()).hexdigest()[:15], 16)  # noqa: S324


def run_dbt(
    args: list[str],
    raw_dir: Path,
    database: Path,
    dbt_vars: dict | None = None,
    check: bool = True,
) -> subprocess.CompletedProcess:
    """Run one dbt command in a subprocess (fresh dbt state each time) and return its output."""
    env = {
        **os.environ,
        "DBT_PROFILES_DIR": str(PROJECT_DIR / "profiles"),
        "LIFECYCLE_RAW_DIR": str(raw_dir),
        "LIFECYCLE_DUCKDB_PATH": str(database),
        "DBT_LOG_PATH": str(database.parent / "dbt-logs"),
        "DBT_TARGET_PATH": str(target_path(database)),
    }
    command = [str(DBT), *args, "--project-dir", str(PROJECT_DIR)]
    if dbt_vars:
        command += ["--vars", repr(dbt_vars)]
    result = subprocess.run(command, cwd=PROJECT_DIR, env=env, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"dbt {' '.join(args)} failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}")
    return result


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
