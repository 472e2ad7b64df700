"""The marts equal the frozen reference (tests/python/frozen_marts.py), row for row.

Both cases are built as the reference was: as of a few earlier dates in order, then as of the default date.
Every frozen column must exist and hold the same values (doubles to 1e-9 relative: a sum may be added up in
another order); the stage history is compared as "the stage of P on D" for every person and date.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import pytest
from frozen_marts import FROZEN, build_case, raw_checksums, raw_dir_of

REL_TOL = 1e-9


@pytest.fixture(scope="module", params=["sample", "generated"])
def built_case(request, tmp_path_factory) -> tuple[str, Path]:
    case = request.param
    scratch = tmp_path_factory.mktemp(f"frozen_{case}")
    raw_dir = raw_dir_of(case, scratch)
    meta = json.loads((FROZEN / case / "case.json").read_text())
    if "raw_md5" in meta:
        assert raw_checksums(raw_dir) == meta["raw_md5"], "the generator's output changed: refreeze on purpose"
    database = scratch / "warehouse.duckdb"
    build_case(case, raw_dir, database)
    return case, database


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> tuple[list[str], list[tuple]]:
    cursor = con.execute(sql)
    return [c[0] for c in cursor.description], cursor.fetchall()


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return a == b


def current_sql(case: str, table: str, columns: list[str]) -> str:
    """The query on the new build that must return the frozen rows, in the frozen order."""
    if table == "stage_on_date":
        # The stage (and tracked overlays) of P on each date the case ran for: the latest history row at or
        # before that date.
        tracked = ", ".join(f"history.{c}" for c in columns if c not in ("customer_key", "as_of_date"))
        return f"""
            with run_dates as (select distinct as_of_date from '{FROZEN / case / table}.parquet'),
            ranked as (
                select
                    history.customer_key, run_dates.as_of_date, {tracked},
                    row_number() over (
                        partition by history.customer_key, run_dates.as_of_date order by history.valid_from desc
                    ) as recency
                from marts.customer_stage_history as history
                inner join run_dates on history.valid_from <= run_dates.as_of_date
            )
            select {", ".join(columns)} from ranked where recency = 1 order by customer_key, as_of_date
        """
    schema = "quarantine" if table.startswith("quarantine") else "marts"
    return f"select {', '.join(columns)} from {schema}.{table} order by {', '.join(columns)}"


FROZEN_TABLES = sorted(p.stem for p in (FROZEN / "sample").glob("*.parquet"))


@pytest.mark.parametrize("table", FROZEN_TABLES)
def test_mart_equals_the_frozen_reference(built_case, table):
    case, database = built_case
    with duckdb.connect(str(database), read_only=True) as con:
        columns, frozen = _rows(con, f"select * from '{FROZEN / case / table}.parquet'")
        sort = ", ".join(f"#{i + 1}" for i in range(len(columns)))
        _, frozen = _rows(con, f"select * from '{FROZEN / case / table}.parquet' order by {sort}")
        _, current = _rows(con, current_sql(case, table, columns))
    assert len(current) == len(frozen), f"{case} {table}: {len(current)} rows, frozen {len(frozen)}"
    for index, (now, then) in enumerate(zip(current, frozen, strict=True)):
        differing = [c for c, a, b in zip(columns, now, then, strict=True) if not _same(a, b)]
        assert not differing, f"{case} {table} row {index}: {differing} now {now}, frozen {then}"
