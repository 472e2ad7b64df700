"""A var the project no longer reads is reported on the run's output, not silently ignored (macros/retired_vars.sql)."""

from __future__ import annotations

from conftest import FIXTURES
from dbt_harness import query, run_dbt

WARNING = "var 'incremental_lookback_days' is no longer read, so its value 3 changes nothing"


def test_a_retired_var_is_reported_once_and_the_run_goes_on(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    command = ["run", "--select", "base_shop__newsletter_signups"]

    with_var = run_dbt(command, FIXTURES / "staging_raw", database, dbt_vars={"incremental_lookback_days": 3})
    assert with_var.stdout.count(WARNING) == 1
    assert query(database, "select count(*) from staging.base_shop__newsletter_signups")[0][0] > 0

    without_var = run_dbt(command, FIXTURES / "staging_raw", database)
    assert "is no longer read" not in without_var.stdout
