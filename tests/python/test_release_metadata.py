"""What a release tells BI tools about its tables, on a hand-made warehouse and manifest (no dbt): dbt's
descriptions as the release database's comments and as Parquet field metadata, and per file in _manifest.json
its schema, rows, as-of date, project version and description. The same on a real build: test_run_pipeline.py."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lifecycle_pipeline import PROJECT_DIR, publish  # noqa: E402

LIFECYCLE_DESCRIPTION = (
    "One row per **known person**\nas of the as-of date; see\n[the definitions](docs/x.md).\n\nNext."
)
COLUMNS = {
    "customer_key": "The person's key (it's salted).",
    "net_revenue": "Sum of purchase amounts,\nwrapped over two lines.",
    "first_order_date": "",  # undocumented: no metadata, empty in the manifest
}


@pytest.fixture
def released(tmp_path) -> dict:
    """A warehouse with one BI mart and one personal mart, a manifest describing them, and its release."""
    database = tmp_path / "warehouse" / "wh.duckdb"
    database.parent.mkdir()
    with duckdb.connect(str(database)) as con:
        con.execute("create schema marts")
        con.execute(
            "create table marts.customer_lifecycle as select * from (values "
            "(11::bigint, date '2026-10-31', 12.50::decimal(28,6), date '2026-01-02'), "
            "(12::bigint, date '2026-10-31', 0::decimal(28,6), null::date)) "
            "as t(customer_key, as_of_date, net_revenue, first_order_date)"
        )
        con.execute(
            "create table marts.campaign_audiences as select 11::bigint as customer_key, 'a@shop.test' as email"
        )
    columns = {name: {"name": name, "description": text, "tags": []} for name, text in COLUMNS.items()}
    nodes = {
        "model.p.customer_lifecycle": {"resource_type": "model", "name": "customer_lifecycle", "schema": "marts",
                                       "description": LIFECYCLE_DESCRIPTION, "columns": columns},
        "model.p.campaign_audiences": {"resource_type": "model", "name": "campaign_audiences", "schema": "marts",
                                       "description": "Who to talk to.",
                                       "columns": {"email": {"name": "email", "description": "The address.",
                                                             "tags": ["pii"]}}},
    }  # fmt: skip
    (tmp_path / "manifest.json").write_text(json.dumps({"nodes": nodes}))
    plan = publish.Plan(
        releases=tmp_path / "releases",
        activation=tmp_path / "activation",
        keep=2,
        warehouse=database,
        catalog="wh",
        marts=publish.marts_from_manifest(tmp_path / "manifest.json"),
        run_started_at="2026-11-01T02:00:00+00:00",
    )
    plan.releases.mkdir()
    plan.activation.mkdir()
    with duckdb.connect(str(database), read_only=True) as con:
        publish.publish(con, plan, lambda: "<html></html>")
    return {"release": plan.releases / publish.CURRENT, "activation": plan.activation / publish.CURRENT}


PLAIN_LIFECYCLE = "One row per **known person** as of the as-of date; see the definitions.\n\nNext."


def test_descriptions_lose_their_links_and_line_breaks_but_keep_paragraphs():
    assert publish.plain_description(LIFECYCLE_DESCRIPTION) == PLAIN_LIFECYCLE
    assert publish.plain_description("Mail <https://shop.test/help> or [us](mailto:x@shop.test).") == (
        "Mail https://shop.test/help or us."
    )
    assert publish.plain_description(None) == publish.plain_description("  \n ") == ""


def test_the_project_version_is_dbt_projects():
    expected = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())["version"]
    assert publish.project_version() == expected
    assert publish.project_version(Path("/nonexistent")) is None


def test_the_release_database_carries_the_descriptions_as_comments(released):
    with duckdb.connect(str(released["release"] / publish.DATABASE), read_only=True) as con:
        table = con.execute("select comment from duckdb_tables() where table_name = 'customer_lifecycle'").fetchone()
        columns = dict(
            con.execute(
                "select column_name, comment from duckdb_columns() where table_name = 'customer_lifecycle'"
            ).fetchall()
        )
    assert table == (PLAIN_LIFECYCLE,)
    assert columns == {
        "customer_key": "The person's key (it's salted).",
        "as_of_date": None,  # not in the manifest
        "net_revenue": "Sum of purchase amounts, wrapped over two lines.",
        "first_order_date": None,
    }


def test_each_parquet_column_carries_its_description_in_the_field_metadata(released):
    schema = pq.read_schema(released["release"] / "customer_lifecycle.parquet")
    assert schema.metadata[b"description"].decode() == PLAIN_LIFECYCLE
    assert schema.field("customer_key").metadata == {b"description": b"The person's key (it's salted)."}
    assert schema.field("net_revenue").metadata[b"description"] == b"Sum of purchase amounts, wrapped over two lines."
    assert schema.field("as_of_date").metadata is None
    personal = pq.read_schema(released["activation"] / "campaign_audiences.parquet")
    assert personal.field("email").metadata == {b"description": b"The address."}
    # the rows are the same as before, with their types
    table = pq.read_table(released["release"] / "customer_lifecycle.parquet").sort_by("customer_key")
    assert [str(field.type) for field in table.schema] == ["int64", "date32[day]", "decimal128(28, 6)", "date32[day]"]
    assert table.column("net_revenue").to_pylist()[0] == pytest.approx(12.5)


@pytest.mark.parametrize("folder", ["release", "activation"])
def test_the_manifest_describes_every_file_as_it_is(released, folder):
    root = released[folder]
    manifest = json.loads((root / publish.MANIFEST).read_text())
    files = {entry["file"]: entry for entry in manifest["files"]}
    assert set(files) == {path.name for path in root.glob("*.parquet")}
    for name, entry in files.items():
        schema = pq.read_schema(root / name)
        assert entry["rows"] == pq.read_metadata(root / name).num_rows == manifest["tables"][entry["table"]]
        assert [(column["name"], column["type"]) for column in entry["schema"]] == [
            (field.name, str(field.type)) for field in schema
        ]
        for column in entry["schema"]:
            field = schema.field(column["name"])
            assert column["description"] == (field.metadata or {}).get(b"description", b"").decode()
        assert entry["description"] == schema.metadata[b"description"].decode()
        assert entry["as_of_date"] == "2026-10-31"
        assert entry["project_version"] == publish.project_version()
    if folder == "release":
        assert files["customer_lifecycle.parquet"]["rows"] == 2
        assert files["customer_lifecycle.parquet"]["description"] == PLAIN_LIFECYCLE
    else:
        assert set(files) == {"campaign_audiences.parquet"}
