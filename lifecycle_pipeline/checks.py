"""Output checks the driver runs on the freshly built database before it publishes anything.

Each check returns a `Check` with the numbers it compared, so a failure message can say which check and
which numbers. The checks recompute totals from staging or raw data rather than trusting the marts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

import duckdb

SOURCES = ("orders", "sessions", "newsletter_signups", "email_events")
STAGES = ("prospect", "new", "repeat", "at_risk", "lapsed")
# Marts that are empty only when something is wrong (audiences and reminders may legitimately be empty).
MUST_NOT_BE_EMPTY = ("customer_lifecycle", "lifecycle_summary", "rfm_summary")
REVENUE_TOLERANCE = Decimal("0.01")


@dataclass
class Check:
    name: str
    ok: bool
    detail: str

    def as_dict(self) -> dict:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


def _scalar(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None):
    return con.execute(sql, params or []).fetchone()[0]


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    sql = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    return _scalar(con, sql, [schema, table]) > 0


def resolved_as_of(con: duckdb.DuckDBPyConnection) -> dt.date | None:
    """The as-of date the marts were built for (dbt's default when --as-of was not given)."""
    if not table_exists(con, "marts", "customer_lifecycle"):
        return None
    return _scalar(con, "select max(as_of_date) from marts.customer_lifecycle")


def check_stages(con: duckdb.DuckDBPyConnection) -> Check:
    """Every known person has exactly one stage, and the stage is one of the five."""
    persons = _scalar(con, "select count(*) from intermediate.int_persons__identified")
    rows, keys, staged, unknown = con.execute(
        f"""
        select
            count(*),
            count(distinct customer_key),
            sum(case when lifecycle_stage in {STAGES} then 1 else 0 end),
            sum(case when lifecycle_stage is null or lifecycle_stage not in {STAGES} then 1 else 0 end)
        from marts.customer_lifecycle
        """
    ).fetchone()
    summary_persons = _scalar(con, "select coalesce(sum(persons), 0) from marts.lifecycle_summary")
    staged, unknown = staged or 0, unknown or 0
    ok = rows == keys == persons == staged == summary_persons and unknown == 0
    detail = (
        f"known persons {persons}; customer_lifecycle rows {rows}, distinct keys {keys}, "
        f"with a valid stage {staged}, without {unknown}; lifecycle_summary persons {summary_persons}"
    )
    return Check("stages exhaustive and exclusive", ok, detail)


def check_raw_accounted_for(con: duckdb.DuckDBPyConnection) -> list[Check]:
    """raw rows = staged rows + quarantined rows, per source. Raw rows are the landed records: a CSV record the
    reader set aside is landed as a row with a defect, and the raw view leaves it out."""
    checks = []
    for source in SOURCES:
        raw = _scalar(con, f"select count(*) from staging.base_shop__{source}")
        staged = _scalar(con, f"select count(*) from staging.stg_shop__{source}")
        quarantined = _scalar(con, f"select count(*) from quarantine.quarantine_shop__{source}")
        checks.append(
            Check(
                f"raw = staged + quarantined ({source})",
                raw == staged + quarantined,
                f"raw {raw}, staged {staged}, quarantined {quarantined}",
            )
        )
    return checks


def check_net_revenue(con: duckdb.DuckDBPyConnection, as_of: dt.date) -> Check:
    """Net revenue in the marts = sum of valid completed orders placed up to (and on) the as-of date."""
    expected = _scalar(
        con,
        """
        select coalesce(sum(amount), 0) from staging.stg_shop__orders
        where status = 'completed' and cast(ordered_at as date) <= ?
        """,
        [as_of],
    )
    in_lifecycle = _scalar(con, "select coalesce(sum(net_revenue), 0) from marts.customer_lifecycle")
    in_summary = _scalar(con, "select coalesce(sum(net_revenue), 0) from marts.lifecycle_summary")
    expected, in_lifecycle, in_summary = (Decimal(str(v)) for v in (expected, in_lifecycle, in_summary))
    ok = abs(in_lifecycle - expected) <= REVENUE_TOLERANCE and abs(in_summary - expected) <= REVENUE_TOLERANCE
    detail = (
        f"completed orders up to {as_of}: {expected:.2f}; customer_lifecycle: {in_lifecycle:.2f}; "
        f"lifecycle_summary: {in_summary:.2f}"
    )
    return Check("net revenue reconciles", ok, detail)


def check_not_empty(con: duckdb.DuckDBPyConnection) -> list[Check]:
    """Marts that must have rows whenever there is at least one valid order."""
    orders = _scalar(con, "select count(*) from staging.stg_shop__orders")
    checks = []
    for mart in MUST_NOT_BE_EMPTY:
        rows = _scalar(con, f"select count(*) from marts.{mart}")
        checks.append(Check(f"marts.{mart} not empty", rows > 0 or orders == 0, f"{rows} rows ({orders} valid orders)"))
    return checks


def check_quarantine_share(con: duckdb.DuckDBPyConnection, max_share: float) -> list[Check]:
    """Share of raw rows quarantined, per source, must not exceed max_share."""
    checks = []
    for source in SOURCES:
        raw = _scalar(con, f"select count(*) from staging.base_shop__{source}")
        quarantined = _scalar(con, f"select count(*) from quarantine.quarantine_shop__{source}")
        share = quarantined / raw if raw else 0.0
        checks.append(
            Check(
                f"quarantine share ({source})",
                share <= max_share,
                f"{quarantined} of {raw} rows quarantined = {share:.2%}, allowed at most {max_share:.2%}",
            )
        )
    return checks


def run_checks(con: duckdb.DuckDBPyConnection, as_of: dt.date | None, max_quarantine_share: float) -> list[Check]:
    """All checks; a check whose tables are missing fails with that as its detail instead of raising."""
    as_of = as_of or resolved_as_of(con)
    steps: list[tuple[str, Callable[[], Check | list[Check]]]] = [
        ("raw = staged + quarantined", lambda: check_raw_accounted_for(con)),
        ("quarantine share", lambda: check_quarantine_share(con, max_quarantine_share)),
        ("stages exhaustive and exclusive", lambda: check_stages(con)),
        ("marts not empty", lambda: check_not_empty(con)),
        ("net revenue reconciles", lambda: check_net_revenue(con, as_of)),
    ]
    results: list[Check] = []
    for name, step in steps:
        try:
            outcome = step()
        except duckdb.CatalogException as error:
            outcome = Check(name, False, f"cannot run: {str(error).splitlines()[0]}")
        results.extend(outcome if isinstance(outcome, list) else [outcome])
    return results
