"""Shared by the engine tests: a small generated raw set split into nights, dbt runs per engine, and the check that
every mart of an engine holds the same rows as the DuckDB build of the same data (docs/engines.md).

The raw set: scripts/generate_data.py at a small size, each dataset a folder of three files — everything up to two
days before the end date (the full build), then one file per night with that day's rows (rows whose timestamp is
not an ISO date go with the first file). Both engines build the full set, then refresh after each new night; the
default as-of date moves a day each night, so the stage history appends as it does in production.

Equality: the same relations in schema `marts` (plus the staged rows and the quarantine summary, which pin the
parsing), the same columns in the same order, and the same multiset of rows, where floating-point values agree
to 1e-9 relative (1e-12 absolute near zero) and every other value exactly. Rows are sorted in Python, not by the
engines, whose NULL ordering and collation differ.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import os
import subprocess
import sys
from collections.abc import Iterable, Sequence
from decimal import Decimal
from pathlib import Path

import duckdb

PROJECT_DIR = Path(__file__).resolve().parents[2]
SCRIPTS = PROJECT_DIR / "scripts"
DATASETS = ("orders", "sessions", "newsletter_signups", "email_events")
TIMESTAMP_COLUMN = {
    "orders": "ordered_at",
    "sessions": "started_at",
    "newsletter_signups": "signed_up_at",
    "email_events": "occurred_at",
}
END_DATE = dt.date(2026, 10, 31)
NIGHTS = (END_DATE - dt.timedelta(days=1), END_DATE)
BATCHES = ("1-history.csv", "2-night.csv", "3-night.csv")
# Relations compared besides schema `marts`: the staged rows and the quarantine's counts per reason.
EXTRA_RELATIONS = (
    "staging.stg_shop__orders",
    "staging.stg_shop__sessions",
    "staging.stg_shop__newsletter_signups",
    "staging.stg_shop__email_events",
    "quarantine.quarantine_summary",
)
RELATIVE_TOLERANCE = 1e-9
ABSOLUTE_TOLERANCE = 1e-12


def generate_nights(out: Path, customers: int = 300, seed: int = 26) -> Path:
    """Generate the raw set into out/generated and split it into out/batches/<dataset>/{1,2,3}-*.csv; return the
    batches folder (the full set of files; `raw_folder_until` gives the folder a night sees)."""
    generated = out / "generated"
    subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "generate_data.py"),
            *("--out", str(generated), "--customers", str(customers), "--seed", str(seed)),
            *("--end-date", END_DATE.isoformat(), "--years", "2"),
        ],
        check=True,
        capture_output=True,
    )
    batches = out / "batches"
    for dataset in DATASETS:
        with open(generated / f"{dataset}.csv", newline="", encoding="utf-8") as handle:
            reader = csv.reader(handle)
            header = next(reader)
            position = [name.strip().lower() for name in header].index(TIMESTAMP_COLUMN[dataset])
            parts: list[list[list[str]]] = [[], [], []]
            for record in reader:
                day = record[position].strip()[:10] if position < len(record) else ""
                parts[_night_of(day)].append(record)
        (batches / dataset).mkdir(parents=True, exist_ok=True)
        for name, rows in zip(BATCHES, parts, strict=True):
            with open(batches / dataset / name, "w", newline="", encoding="utf-8") as handle:
                writer = csv.writer(handle, lineterminator="\n")
                writer.writerow(header)
                writer.writerows(rows)
    return batches


def _night_of(day: str) -> int:
    try:
        date = dt.date.fromisoformat(day)
    except ValueError:
        return 0
    if date < NIGHTS[0]:
        return 0
    return 1 if date == NIGHTS[0] else 2


def raw_folder_until(batches: Path, night: int, raw_dir: Path) -> Path:
    """Make `raw_dir` hold the files of the full build and of nights 1..`night` (links to `batches`)."""
    for dataset in DATASETS:
        (raw_dir / dataset).mkdir(parents=True, exist_ok=True)
        for name in BATCHES[: night + 1]:
            link = raw_dir / dataset / name
            if not link.exists():
                link.symlink_to(batches / dataset / name)
    return raw_dir


def dbt(args: Sequence[str], env: dict[str, str], target_path: Path, log: Path) -> float:
    """Run the dbt CLI of this environment in the project with `env` added; return its wall time in seconds. A
    failure raises with the end of dbt's output."""
    command = [str(Path(sys.executable).parent / "dbt"), *args, "--target-path", str(target_path)]
    started = dt.datetime.now()
    result = subprocess.run(
        command,
        cwd=PROJECT_DIR,
        env={**os.environ, "DBT_PROFILES_DIR": str(PROJECT_DIR / "profiles"), **env},
        capture_output=True,
        text=True,
    )
    elapsed = (dt.datetime.now() - started).total_seconds()
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(f"$ {' '.join(command)}  ({elapsed:.1f} s, exit {result.returncode})\n{result.stdout}\n")
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-40:])
        raise AssertionError(f"dbt {' '.join(args)} failed (exit {result.returncode}); log {log}:\n{tail}")
    return elapsed


# --- reading relations -------------------------------------------------------------------------------------------


def duckdb_relations(database: Path) -> dict[str, tuple[list[str], list[tuple]]]:
    """schema.name -> (column names, rows) of every relation compared, from a DuckDB file."""
    connection = duckdb.connect(str(database), read_only=True)
    try:
        names = [
            f"{schema}.{name}"
            for schema, name in connection.execute(
                "select table_schema, table_name from information_schema.tables where table_schema = 'marts'"
            ).fetchall()
        ]
        found = {}
        for relation in [*names, *EXTRA_RELATIONS]:
            cursor = connection.execute(f"select * from {relation}")
            found[relation] = ([column[0] for column in cursor.description], cursor.fetchall())
        return found
    finally:
        connection.close()


def dbapi_relations(connection, names_query: str) -> dict[str, tuple[list[str], list[tuple]]]:
    """schema.name -> (column names, rows) of every relation compared, over a DB-API connection (PostgreSQL);
    `names_query` lists the (schema, name) pairs of schema marts."""
    with connection.cursor() as cursor:
        cursor.execute(names_query)
        names = [f"{schema}.{name}" for schema, name in cursor.fetchall()]
        found = {}
        for relation in [*names, *EXTRA_RELATIONS]:
            cursor.execute(f"select * from {relation}")
            found[relation] = ([column[0] for column in cursor.description], cursor.fetchall())
    return found


# --- comparing ---------------------------------------------------------------------------------------------------


def _normalised(value):
    """A value as compared: Decimal and float both as float when not whole-number ints, dates as they are."""
    if isinstance(value, Decimal):
        return float(value)
    return value


def _sort_key(row: Iterable) -> tuple:
    """Sort key that tolerates NULLs, mixed types and last-bit float differences (floats to 9 significant digits)."""
    key = []
    for value in row:
        if value is None:
            key.append((0, ""))
        elif isinstance(value, float):
            key.append((1, float(f"{value:.9g}") if math.isfinite(value) else str(value)))
        elif isinstance(value, bool | int):
            key.append((1, float(value)))
        else:
            key.append((2, str(value)))
    return tuple(key)


def _values_agree(expected, actual) -> bool:
    if expected is None or actual is None:
        return expected is None and actual is None
    if isinstance(expected, float) or isinstance(actual, float):
        if isinstance(expected, bool) or isinstance(actual, bool):
            return expected == actual
        expected, actual = float(expected), float(actual)
        return math.isclose(expected, actual, rel_tol=RELATIVE_TOLERANCE, abs_tol=ABSOLUTE_TOLERANCE)
    return expected == actual


def relation_differences(
    reference: dict[str, tuple[list[str], list[tuple]]],
    other: dict[str, tuple[list[str], list[tuple]]],
    engine: str,
    shown: int = 5,
) -> list[str]:
    """What differs between the reference (DuckDB) relations and another engine's: missing or extra relations,
    other columns, row counts, and the first rows that differ. Empty when they agree."""
    problems = []
    for name in sorted(set(reference) ^ set(other)):
        where = "DuckDB only" if name in reference else f"{engine} only"
        problems.append(f"{name}: {where}")
    for name in sorted(set(reference) & set(other)):
        ref_columns, ref_rows = reference[name]
        columns, rows = other[name]
        if [c.lower() for c in ref_columns] != [c.lower() for c in columns]:
            problems.append(f"{name}: columns differ: DuckDB {ref_columns} vs {engine} {columns}")
            continue
        if len(ref_rows) != len(rows):
            problems.append(f"{name}: {len(ref_rows)} rows on DuckDB, {len(rows)} on {engine}")
            continue
        left = sorted((tuple(map(_normalised, row)) for row in ref_rows), key=_sort_key)
        right = sorted((tuple(map(_normalised, row)) for row in rows), key=_sort_key)
        bad = []
        for ref_row, row in zip(left, right, strict=True):
            differing = [
                f"{column}: {a!r} vs {b!r}"
                for column, a, b in zip(ref_columns, ref_row, row, strict=True)
                if not _values_agree(a, b)
            ]
            if differing:
                bad.append("; ".join(differing))
        if bad:
            problems.append(f"{name}: {len(bad)} of {len(left)} rows differ, e.g. " + " | ".join(bad[:shown]))
    return problems
