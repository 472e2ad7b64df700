"""Staging on generated dirty data: every injected bad row ends up in quarantine with the injected reason."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from dbt_harness import PROJECT_DIR, query, run_dbt

SOURCES = ["orders", "sessions", "newsletter_signups", "email_events"]


@pytest.fixture(scope="module")
def dirty_build(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("dirty")
    raw_dir = workdir / "raw"
    subprocess.run(
        [
            sys.executable,
            str(PROJECT_DIR / "scripts" / "generate_data.py"),
            "--out",
            str(raw_dir),
            "--customers",
            "1500",
            "--seed",
            "7",
            "--dirty-share",
            "0.03",
            "--format",
            "parquet",
        ],
        check=True,
        capture_output=True,
    )
    database = workdir / "warehouse.duckdb"
    run_dbt(["build", "--select", "staging"], raw_dir, database)
    summary = json.loads((raw_dir / "generation_summary.json").read_text())
    return database, summary


@pytest.mark.parametrize("source", SOURCES)
def test_quarantine_matches_what_the_generator_injected(dirty_build, source):
    database, summary = dirty_build
    injected = {reason: count for reason, count in summary["bad_rows"][source].items() if count}
    found = dict(
        query(
            database,
            f"select quarantine_reason, count(*) from quarantine.quarantine_shop__{source} group by quarantine_reason",
        )
    )
    assert injected, "the generator injected no bad rows"
    assert found == injected


@pytest.mark.parametrize("source", SOURCES)
def test_generated_rows_are_all_accounted_for(dirty_build, source):
    database, summary = dirty_build
    [(staged,)] = query(database, f"select count(*) from staging.stg_shop__{source}")
    [(quarantined,)] = query(database, f"select count(*) from quarantine.quarantine_shop__{source}")
    assert staged + quarantined == summary["rows"][source]
    assert staged == summary["rows"][source] - sum(summary["bad_rows"][source].values())
