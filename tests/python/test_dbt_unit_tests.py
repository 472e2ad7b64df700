"""dbt's unit tests (models/**/_*unit_tests.yml), all of them, once per session.

They feed each model hand-written input rows, so they prove the same on every build; the other tests' builds
leave them out (dbt_harness.run_dbt). Unit tests need their models' input relations to exist: `dbt run --empty`
creates every model without rows first.
"""

from __future__ import annotations

import json

from conftest import FIXTURES
from dbt_harness import run_dbt, target_path


def test_every_dbt_unit_test_passes(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    run_dbt(["run", "--empty"], FIXTURES / "staging_raw", database)
    run_dbt(["test", "--select", "test_type:unit"], FIXTURES / "staging_raw", database)
    manifest = json.loads((target_path(database) / "manifest.json").read_text())
    results = json.loads((target_path(database) / "run_results.json").read_text())["results"]
    statuses = {r["unique_id"]: r["status"] for r in results if r["unique_id"].startswith("unit_test.")}
    assert manifest["unit_tests"], "the project defines no unit tests"
    assert statuses == dict.fromkeys(manifest["unit_tests"], "pass")
