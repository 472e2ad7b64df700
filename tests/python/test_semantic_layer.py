"""The semantic layer (models/semantic/_semantic__models.yml) without a warehouse: every column it names is a
documented column of its mart, and the README's example query names metrics and dimensions that exist.

MetricFlow itself checks it on a real build in test_run_pipeline.py (`mf validate-configs` against the warehouse,
and `mf query` answers compared with SQL on the marts), with the helpers below: a build there is paid once.
"""

from __future__ import annotations

import csv
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml
from dbt_harness import PROJECT_DIR

SEMANTIC_YAML = PROJECT_DIR / "models" / "semantic" / "_semantic__models.yml"
MF = Path(sys.executable).with_name("mf")
IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]*$")


def semantic_layer() -> dict:
    return yaml.safe_load(SEMANTIC_YAML.read_text(encoding="utf-8"))


def mart_columns() -> dict[str, set[str]]:
    """model -> its documented columns, from every YAML file under models/."""
    found: dict[str, set[str]] = {}
    for path in (PROJECT_DIR / "models").rglob("*.yml"):
        for model in (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("models", []):
            found[model["name"]] = {column["name"] for column in model.get("columns", [])}
    return found


def test_every_column_a_semantic_model_names_is_a_documented_column_of_its_mart():
    columns = mart_columns()
    checked = 0
    for model in semantic_layer()["semantic_models"]:
        mart = model["model"].removeprefix("ref('").removesuffix("')")
        assert mart in columns, model["name"]
        for kind in ("entities", "dimensions", "measures"):
            for element in model.get(kind, []):
                expression = element.get("expr", element["name"])
                if IDENTIFIER.match(expression):  # a column, not an SQL expression
                    assert expression in columns[mart], (model["name"], kind, element["name"])
                    checked += 1
        assert model["defaults"]["agg_time_dimension"] in {d["name"] for d in model["dimensions"]}, model["name"]
    assert checked >= 20


def test_the_readme_example_names_metrics_and_dimensions_that_exist():
    layer = semantic_layer()
    metrics = {metric["name"] for metric in layer["metrics"]}
    dimensions = {
        f"{entity}__{dimension['name']}"
        for model in layer["semantic_models"]
        for entity in [e["name"] for e in model.get("entities", []) if e["type"] == "primary"]
        + ([model["primary_entity"]] if "primary_entity" in model else [])
        for dimension in model.get("dimensions", [])
    }
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    example = re.search(r"mf query --metrics ([^\s`]+) --group-by ([^\s`]+)", readme)
    assert example, "README shows no `mf query --metrics ... --group-by ...`"
    assert set(example.group(1).split(",")) <= metrics
    assert set(example.group(2).split(",")) <= dimensions
    assert {"stage_mix", "rfm_segments", "audiences"} <= {query["name"] for query in layer["saved_queries"]}


# --- running mf against a built warehouse (used by test_run_pipeline.py) -----------------------------------


class Mf:
    """`mf` against a copy of a warehouse dbt built. mf reads the semantic manifest from `<project>/target/` and
    connects with the project's profile; the build's target folder is elsewhere, so mf runs in a folder of its own
    holding dbt_project.yml (a link), the build's semantic_manifest.json and the warehouse copy. The copy keeps the
    file name: the manifest names the tables by catalog, which DuckDB takes from the file name."""

    def __init__(self, folder: Path, database: Path, dbt_target: Path):
        self.folder = folder
        (folder / "target").mkdir(parents=True)
        (folder / "dbt_project.yml").symlink_to(PROJECT_DIR / "dbt_project.yml")
        shutil.copyfile(dbt_target / "semantic_manifest.json", folder / "target" / "semantic_manifest.json")
        self.database = folder / database.name
        shutil.copyfile(database, self.database)
        self.env = {
            **os.environ,
            "DBT_PROFILES_DIR": str(PROJECT_DIR / "profiles"),
            "DBT_PROJECT_DIR": str(folder),
            "LIFECYCLE_DUCKDB_PATH": str(self.database),
        }
        self.env.pop("LIFECYCLE_TARGET", None)

    def run(self, *args: str) -> subprocess.CompletedProcess:
        result = subprocess.run(
            [str(MF), *args], cwd=self.folder, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"mf {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-3000:]}"
        return result

    def query(self, *args: str) -> list[dict[str, str]]:
        """`mf query ARGS` as rows (column -> text; empty for NULL)."""
        out = self.folder / "query.csv"
        self.run("query", *args, "--csv", str(out), "--quiet")
        with out.open(newline="", encoding="utf-8") as handle:
            return list(csv.DictReader(handle))
