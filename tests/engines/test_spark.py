"""The project on Apache Spark (local[2] session, Parquet tables, Derby metastore) equals the DuckDB build.

A small generated shop is cut into three nightly batches per dataset (nightly_batches.py). On Spark each night
loads its new batch into `raw.<dataset>` (lifecycle_pipeline.spark_raw, as an EL tool would) and runs dbt with
`--target spark`: the first night builds everything from scratch, the next two are incremental — the landed
tables append the new batch only, the stage history appends its changes — and the last night runs `dbt build`,
so every data test and every dbt unit test runs on Spark too. DuckDB builds the same three nights from the same
files. Then every mart must hold the same rows on both engines (floats to 1e-9 relative), and so must staging
and the quarantine.

The Spark session is started by this module (one JVM for every dbt call: dbt-spark's session method reuses it)
and stopped at the end. Java 17 and pyspark are required: a machine without them fails with what to install.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from dbt_harness import query, run_dbt
from nightly_batches import write_nights
from spark_harness import LOAD_TIME_COLUMNS, LocalSpark, timed

from lifecycle_pipeline.spark_raw import load_raw_spark, source_columns

PROJECT_DIR = Path(__file__).resolve().parents[2]
END_DATE = dt.date(2026, 10, 31)
NIGHTS = 3
# One row per quarantine rule and per awkward spelling (offsets, `Z`, exponents, hidden characters, duplicates
# with ties): the staging tests' hand-made fixture, landed as one more batch on the last night.
AWKWARD_ROWS = PROJECT_DIR / "tests" / "python" / "fixtures" / "staging_raw"
# Prediction runs on DuckDB only (dbt Python models): off on the DuckDB side so both leave its columns NULL.
DUCKDB_VARS = {"prediction_enabled": False}
# Small data, many small queries: fewer shuffle partitions than the profile's 4 halve the tasks per query, and
# interpreted expressions instead of generated Java code (Spark's own test suites switch between the two; the
# results are the same): compiling code for each of ~450 queries on a few hundred rows cost more than it saved
# (JVM CPU of the module's nights 358 -> 301 s, wall 232 -> 200 s, one run each).
TEST_CONF = {
    "spark.sql.shuffle.partitions": "2",
    "spark.sql.codegen.wholeStage": "false",
    "spark.sql.codegen.factoryMode": "NO_CODEGEN",
}
# The JVM's serial garbage collector: the same times as the default (G1) alone, with 10 % less CPU (308 vs 343 s
# for this module), which the other pytest worker gets.
JAVA_OPTIONS = "-XX:+UseSerialGC"


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Both engines after each night: Spark's session (still running), the DuckDB file, what was loaded, timings."""
    base = tmp_path_factory.mktemp("spark_engine")
    subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "generate_data.py"), "--out", str(base / "generated")]
        + ["--customers", "300", "--end-date", END_DATE.isoformat()],
        check=True,
        capture_output=True,
    )
    nights = write_nights(base / "generated", base / "raw", END_DATE, NIGHTS)
    for dataset in source_columns():  # the last night also brings one awkward row per contract rule
        shutil.copyfile(AWKWARD_ROWS / f"{dataset}.csv", nights[-1] / dataset / "night_3_awkward.csv")
    database = base / "duckdb" / "warehouse.duckdb"
    for raw_dir in nights:  # the reference: models only (DuckDB's data tests run in tests/python)
        run_dbt(["run"], raw_dir, database, DUCKDB_VARS)

    seconds, spark = timed(LocalSpark, base / "spark", TEST_CONF, JAVA_OPTIONS)
    times = {"session_start": seconds}
    loaded, landed_times = [], []
    try:
        for night, raw_dir in enumerate(nights, start=1):
            times[f"load_{night}"], batches = timed(load_raw_spark, spark.session, raw_dir)
            loaded.append(batches)
            # the last night: every data test and every dbt unit test on Spark too
            command = ["build"] if night == NIGHTS else ["run"]
            times[f"dbt_{night}"], _ = timed(spark.dbt, command, raw_dir)
            landed = spark.session.sql("select _source_file, min(_loaded_at) from staging.base_shop__orders group by 1")
            landed_times.append(dict(landed.collect()))
        print(f"\nSpark times (s): {times}")
        yield {"spark": spark, "duckdb": database, "nights": nights, "loaded": loaded, "landed": landed_times}
    finally:
        spark.stop()


def duckdb_rows(database: Path, relation: str) -> tuple[list[str], list[tuple]]:
    schema, name = relation.split(".")
    columns = [
        row[0]
        for row in query(
            database,
            "select column_name from information_schema.columns "
            f"where table_schema = '{schema}' and table_name = '{name}' order by ordinal_position",
        )
        if row[0] not in LOAD_TIME_COLUMNS
    ]
    return columns, query(database, f"select {', '.join(columns)} from {relation}")


def same_value(left, right) -> bool:
    if left is None or right is None:
        return left is None and right is None
    if isinstance(left, float | Decimal) and isinstance(right, float | Decimal):
        if isinstance(left, Decimal) and isinstance(right, Decimal):
            return left == right
        return math.isclose(float(left), float(right), rel_tol=1e-9, abs_tol=1e-12)
    return left == right


def sort_key(row: tuple) -> tuple:
    return tuple((value is None, str(round(value, 6)) if isinstance(value, float) else str(value)) for value in row)


def assert_same_rows(relation: str, duck: tuple[list[str], list[tuple]], spark: tuple[list[str], list[tuple]]):
    duck_columns, duck_rows = duck
    spark_columns, spark_rows = spark
    assert spark_columns == duck_columns, f"{relation}: columns differ"
    assert len(spark_rows) == len(duck_rows), f"{relation}: {len(spark_rows)} rows on Spark, {len(duck_rows)} on DuckDB"
    for duck_row, spark_row in zip(sorted(duck_rows, key=sort_key), sorted(spark_rows, key=sort_key), strict=True):
        for column, left, right in zip(duck_columns, duck_row, spark_row, strict=True):
            assert same_value(left, right), f"{relation}.{column}: DuckDB {left!r}, Spark {right!r}\n{duck_row}"


def test_each_night_loads_only_its_new_batch(built):
    """The loader appends one batch per dataset a night, never one already in raw.<dataset>."""
    for night, batches in enumerate(built["loaded"], start=1):
        extra = ["night_3_awkward.csv"] if night == NIGHTS else []
        assert batches == {dataset: [f"night_{night}.csv", *extra] for dataset in source_columns()}
    assert load_raw_spark(built["spark"].session, built["nights"][-1]) == {dataset: [] for dataset in source_columns()}


def test_landing_appends_and_never_reloads_a_landed_batch(built):
    """Night 1's landed rows keep their load time through nights 2 and 3 (appended to, not rebuilt)."""
    first, second, third = built["landed"]
    assert set(first) == {"night_1.csv"} and set(second) == {"night_1.csv", "night_2.csv"}
    assert set(third) == {"night_1.csv", "night_2.csv", "night_3.csv", "night_3_awkward.csv"}
    assert first["night_1.csv"] == second["night_1.csv"] == third["night_1.csv"]
    assert second["night_2.csv"] == third["night_2.csv"]
    assert first["night_1.csv"] < second["night_2.csv"] < third["night_3.csv"]


def test_every_mart_equals_duckdb(built):
    """Same relations in schema marts and the same rows in each (floats to 1e-9 relative)."""
    spark = built["spark"]
    listing = "select table_name from information_schema.tables where table_schema = 'marts'"
    duck_tables = sorted(row[0] for row in query(built["duckdb"], listing))
    assert spark.tables("marts") == duck_tables
    assert "customer_stage_history" in duck_tables and "customer_lifecycle" in duck_tables
    for table in duck_tables:
        relation = f"marts.{table}"
        assert_same_rows(relation, duckdb_rows(built["duckdb"], relation), spark.rows(relation))


def test_history_recorded_three_nights(built):
    """Each night's as-of date was recorded and the history grew on the incremental nights."""
    spark = built["spark"]
    sql = spark.session.sql
    dates = [row[0] for row in sql("select as_of_date from marts.stage_history_dates order by 1").collect()]
    assert len(dates) == NIGHTS and dates[-1] == END_DATE
    valid_from = {row[0] for row in sql("select distinct valid_from from marts.customer_stage_history").collect()}
    assert valid_from == set(dates)


@pytest.mark.parametrize("schema", ["staging", "quarantine"])
def test_staging_and_quarantine_equal_duckdb(built, schema):
    """Every staged and quarantined row (and its reason) is the same on both engines."""
    spark = built["spark"]
    for table in spark.tables(schema):
        if table.startswith("base_shop__") and not table.startswith("base_shop__duplicate"):
            continue  # the landed tables: their rows are the staged and quarantined ones, compared there
        relation = f"{schema}.{table}"
        assert_same_rows(relation, duckdb_rows(built["duckdb"], relation), spark.rows(relation))


def test_prediction_models_skip_on_spark(built):
    """No prediction models on Spark: their marts do not exist and the prediction columns are NULL."""
    spark = built["spark"]
    assert not [table for table in spark.tables("marts") if table.startswith("btyd")]
    counts = spark.session.sql(
        "select count(*), count(p_alive), count(expected_orders_90d) from marts.customer_lifecycle"
    ).collect()[0]
    assert counts[0] > 0 and counts[1] == 0 and counts[2] == 0


def test_landed_raw_rows_match_the_files(built):
    """raw.<dataset> on Spark holds exactly the CSV records of every night's batch."""
    spark = built["spark"]
    raw_dir = built["nights"][-1]
    for dataset in source_columns():
        files = sorted((raw_dir / dataset).glob("*.csv"))
        expected = {}
        for path in files:
            with open(path, newline="", encoding="utf-8") as handle:
                expected[path.name] = sum(1 for _ in csv.reader(handle)) - 1
        got = dict(spark.session.sql(f"select _source_file, count(*) from raw.{dataset} group by 1").collect())
        assert got == expected, dataset


def test_a_raw_table_without_a_required_column_stops_the_run(built):
    """The input check reads Spark's catalog: a raw table lacking a required column fails before any model runs,
    naming the table and the column. (Last in this module: it swaps a raw table and puts it back.)"""
    spark, sql = built["spark"], built["spark"].session.sql
    sql("alter table raw.newsletter_signups rename to raw.newsletter_signups_kept")
    try:
        kept = "raw.newsletter_signups_kept"
        sql(f"create table raw.newsletter_signups using parquet as select * except (email) from {kept}")
        result = spark.dbt(["run", "--select", "int_lifecycle__as_of_date"], built["nights"][-1], check=False)
    finally:
        sql("drop table if exists raw.newsletter_signups")
        sql("alter table raw.newsletter_signups_kept rename to raw.newsletter_signups")
    assert result.returncode != 0
    assert "Raw table raw.newsletter_signups is missing required column 'email'" in result.stdout + result.stderr
