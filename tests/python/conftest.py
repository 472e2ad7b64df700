from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from dbt_harness import run_dbt  # noqa: E402

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def staging_fixture_db(tmp_path_factory) -> Path:
    """The hand-made raw fixture (one bad row per quarantine rule) built through staging."""
    database = tmp_path_factory.mktemp("staging_fixture") / "warehouse.duckdb"
    run_dbt(["build", "--select", "staging"], FIXTURES / "staging_raw", database)
    return database
