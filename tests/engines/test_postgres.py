"""The pipeline on PostgreSQL: a throwaway server (scripts/pg_server.py), the raw batches loaded by
scripts/load_raw.py, a full build and two incremental nights (the second run by the driver, as production runs
it), each compared with a DuckDB build of the same files (engine_compare.py), and the semantic differences
between the two engines, each pinned (docs/engines.md).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from dbt_harness import WITHOUT_PREDICTION, WITHOUT_UNIT_TESTS, environment, run_dbt
from engine_compare import (
    BATCHES,
    DATASETS,
    PROJECT_DIR,
    SCRIPTS,
    dbapi_relations,
    dbt,
    duckdb_relations,
    generate_nights,
    raw_folder_until,
    relation_differences,
)

sys.path.insert(0, str(SCRIPTS))

import load_raw  # noqa: E402
import pg_server  # noqa: E402

MARTS_QUERY = (
    "select table_schema, table_name from information_schema.tables where table_schema = 'marts' order by table_name"
)
# Texts whose reading differed between a plain PostgreSQL cast and DuckDB (docs/engines.md "Timestamps"), and
# their neighbours; DuckDB's reading is the reference.
TIMESTAMP_TEXTS = [
    "2024-03-01",
    "2024-03-01T10:00",
    "2024-03-01 10:00:00",
    "2024-03-01T10:00:00Z",
    "2024-03-01T10:00:00+02:00",
    "2024-03-01T10:00:00-05:30",
    "2024-03-01T10:00:00+0200",
    "2024-03-01T10:00:00+02",
    "2024-03-01T10:00:00.123+01:00",
    "2024-03-01T10:00:00.1234567",
    "2024-03-01T10:00:00.",
    "2024-03-01T1:00:00",
    "2024-03-01T10:00:00 UTC",
    "2024-03-01T10:00:00 Europe/Berlin",
    "2024-03-01T10:00:00 +02:00",
    "2024-03-01T23:59:60",
    "2024-03-01T24:00:00",
    "2024-02-29T00:00:00",
    "2023-02-29",
    "2025-13-45T10:00:00",
    "2024-03-01T10",
    "2024-03-01Z",
    "2024-03-01T10:00:00z",
    "2024-03-01T10:00:00+02:00 extra",
    "10000-01-01",
    "epoch",
    "allballs",
    # the fields the direct (no exception block) path checks itself: calendar day, hour, offset range
    "2024-02-30",
    "2024-04-31T10:00:00Z",
    "2024-00-10",
    "2024-03-00",
    "0000-01-01",
    "2024-03-01T25:00:00",
    "2024-03-01T10:00:00+14:00",
    "2024-03-01T10:00:00-15:00",
    "2024-12-31T23:59:59.999999-14:00",
]


@pytest.fixture(scope="module")
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("postgres_engine")


@pytest.fixture(scope="module")
def batches(work) -> Path:
    return generate_nights(work / "raw")


@pytest.fixture(scope="module")
def server():
    """A PostgreSQL server of this module, stopped and removed at its end (its folder is a new one under the
    system's temporary folder: user postgres must reach it, and pytest's folders are private)."""
    with pg_server.running() as running:
        yield running


@pytest.fixture(scope="module")
def duckdb_nights(work, batches) -> list[dict]:
    """The reference: DuckDB over the same files, full build then one refresh per night (models only: DuckDB's
    data tests run in tests/python)."""
    database = work / "duckdb" / "warehouse.duckdb"
    database.parent.mkdir()
    raw_dir = work / "duckdb_raw"
    snapshots = []
    for night in range(len(BATCHES)):
        raw_folder_until(batches, night, raw_dir)
        run_dbt(["run"], raw_dir, database, WITHOUT_PREDICTION)
        snapshots.append(duckdb_relations(database))
    return snapshots


@pytest.fixture(scope="module")
def postgres_nights(work, batches, server) -> dict:
    """PostgreSQL: each night's file loaded by load_raw.py, then the full build (`dbt build`, unit tests
    included), the first night (`dbt run`) and the second night by the driver (run_pipeline.py --target
    postgres: build into *__next schemas, test, swap), first with a test made to fail, then as it runs every
    night. Returns the relations after each night, the landed batches, the times and what the two driver runs
    did."""
    raw_dir = work / "pg_raw"
    env = {**server.env(), "LIFECYCLE_TARGET": "postgres"}
    snapshots, landed, seconds, driver = [], [], [], {}
    for night in range(len(BATCHES)):
        raw_folder_until(batches, night, raw_dir)
        with environment(server.env()):
            load_raw.load_postgres(raw_dir, log=lambda _line: None)
        if night < 2:
            seconds.append(dbt(["build"] if night == 0 else ["run"], env, work / "pg_target", work / "postgres.log"))
        else:
            driver["before"] = _schemas_and_rows(server)
            # staging only: the test made to fail is the staged rows' quarantine share
            driver["failed"] = _driver(["--max-quarantine-share", "0", "--select", "path:models/staging"], server, work)
            driver["after_failure"] = _schemas_and_rows(server)
            driver["released_after_failure"] = (work / "driver" / "releases" / "current").exists()
            started = time.perf_counter()
            driver["passed"] = _driver([], server, work)
            seconds.append(time.perf_counter() - started)
            assert driver["passed"].returncode == 0, driver["passed"].stderr[-3000:]
        connection = _connect(server)
        try:
            snapshots.append(dbapi_relations(connection, MARTS_QUERY))
            with connection.cursor() as cursor:
                cursor.execute(
                    "select _source_file, count(*), count(distinct _loaded_at) from staging.base_shop__orders "
                    "group by 1 order by 1"
                )
                landed.append(cursor.fetchall())
        finally:
            connection.close()
    (work / "postgres_seconds.json").write_text(json.dumps(seconds))
    return {"snapshots": snapshots, "landed": landed, "seconds": seconds, "driver": driver}


def _connect(server, dbname: str | None = None):
    import psycopg2

    return psycopg2.connect(host=server.host, port=server.port, user=server.user, dbname=dbname or server.dbname)


@pytest.mark.parametrize("night", [0, 1, 2], ids=["full_build", "first_night", "second_night"])
def test_every_mart_equals_duckdb(duckdb_nights, postgres_nights, night):
    reference, other = duckdb_nights[night], postgres_nights["snapshots"][night]
    assert len([name for name in reference if name.startswith("marts.")]) >= 10
    assert relation_differences(reference, other, "PostgreSQL") == []


def test_nights_land_only_their_new_batch(postgres_nights):
    """Each night appends the rows of its file and leaves the landed rows of earlier files as they were (one
    load time per file: they were not reloaded)."""
    landed = postgres_nights["landed"]
    assert [[row[0] for row in night] for night in landed] == [list(BATCHES[: n + 1]) for n in range(3)]
    for night in range(1, 3):
        assert landed[night][:night] == landed[night - 1]
    assert all(loads == 1 for _, _, loads in landed[-1])


def test_history_grows_each_night(postgres_nights):
    """Three as-of dates recorded in the stage history, as on DuckDB (the equality test compares the rows)."""
    dates = postgres_nights["snapshots"][-1]["marts.stage_history_dates"][1]
    assert len(dates) == 3


def test_loading_again_adds_nothing(postgres_nights, work, server):
    with environment(server.env()):
        assert load_raw.load_postgres(work / "pg_raw", log=lambda _line: None) == {name: [] for name in DATASETS}


SHOW = ["show", "--output", "json", "--limit", "-1", "--inline"]


def _json_rows(printed: str) -> list[dict]:
    return json.loads(printed[printed.index("{") :])["show"]


def _printed(args: list[str], server, work: Path) -> str:
    """What `dbt --quiet ARGS` prints on PostgreSQL. It runs in the nights' target folder with their settings
    (target by LIFECYCLE_TARGET, no --target or --vars), so it reuses their parse instead of parsing again."""
    result = subprocess.run(
        [str(Path(sys.executable).parent / "dbt"), "--quiet", *args, "--target-path", str(work / "pg_target")],
        cwd=PROJECT_DIR,
        env={**os.environ, "DBT_PROFILES_DIR": str(PROJECT_DIR / "profiles"), **server.env()}
        | {"LIFECYCLE_TARGET": "postgres"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return result.stdout


def _show(sql: str, server, work: Path) -> list[dict]:
    """Rows of `dbt show --inline sql` on PostgreSQL."""
    return _json_rows(_printed([*SHOW, sql], server, work))


def _values(texts: list[str]) -> str:
    return "(values " + ", ".join("('" + text.replace("'", "''") + "')" for text in texts) + ") as texts(v)"


def _reading(check: str, output: str, source: str, value: str = "v") -> str:
    """One check of READINGS_SQL: a (check, input, output) text row per value of `source`."""
    columns = f"'{check}' as check_name, cast({value} as varchar) as input, cast({output} as varchar) as output"
    return f"select {columns} from {source}"


@pytest.fixture(scope="module")
def readings(postgres_nights, duckdb_nights, server, work) -> dict[str, tuple[dict, dict]]:
    """check -> (DuckDB's readings, PostgreSQL's), each input -> output text: every value-level check of this
    module in one `dbt show` per engine (READINGS_SQL; PostgreSQL needs the project's functions of the build)."""
    database = work / "duckdb" / "warehouse.duckdb"  # in this process, on the reference build (a query only)
    shown = run_dbt([*SHOW, READINGS_SQL, "--quiet"], work / "duckdb_raw", database, WITHOUT_PREDICTION)
    on_duckdb = _json_rows(shown.stdout)
    on_postgres = _show(READINGS_SQL, server, work)
    checks = {row["check_name"] for row in on_duckdb}
    assert checks == {"timestamp", "amount", "email", "email_in_byte_order", "min_plain", "min_byte_order"}

    def of(rows: list[dict], check: str) -> dict:
        return {row["input"]: row["output"] for row in rows if row["check_name"] == check}

    return {check: (of(on_duckdb, check), of(on_postgres, check)) for check in checks}


def test_timestamp_texts_read_as_on_duckdb(readings):
    """PostgreSQL has no try_cast, and its plain cast drops an offset, rolls 23:59:60 over, rounds a 7th decimal
    and accepts a space before an offset: utc_timestamp_or_null reads every text as DuckDB does."""
    on_duckdb, on_postgres = readings["timestamp"]
    assert on_duckdb["2024-03-01T10:00:00+02:00"] == "2024-03-01 08:00:00"
    assert on_duckdb["2024-03-01T23:59:60"] is None
    assert {text: on_postgres[text] for text in TIMESTAMP_TEXTS} == {text: on_duckdb[text] for text in TIMESTAMP_TEXTS}


def test_timestamp_parser_never_runs_in_a_parallel_worker(postgres_nights, server):
    """Its exception block is a subtransaction, which a parallel worker cannot start: marked parallel safe, the
    landing of ~70k rows (a parallel plan) failed. Forcing parallel plans on the test server reproduced it but
    stalled the whole build on two cores, so the marking itself is checked."""
    marking = server.psql(
        "select string_agg(distinct proparallel, '') from pg_proc where proname = 'utc_timestamp_or_null'"
    )
    assert marking.strip() == "u"


def test_missing_required_column_stops_before_any_model(postgres_nights, server, work):
    """The input check reads the warehouse's catalog: a raw table without a required column stops the run in its
    on-run-start hook, naming table and column (then the column is put back for the other tests)."""
    connection = _connect(server)
    connection.autocommit = True
    env = {**server.env(), "LIFECYCLE_TARGET": "postgres"}
    try:
        with connection.cursor() as cursor:
            cursor.execute("alter table raw.orders rename column amount to order_amount")
        with pytest.raises(AssertionError) as failure:
            dbt(["run", "--select", "int_lifecycle__as_of_date"], env, work / "pg_target", work / "postgres.log")
        assert "is missing required column 'amount'" in str(failure.value)
        assert "raw" in str(failure.value) and "orders" in str(failure.value)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("alter table raw.orders rename column order_amount to amount")
        connection.close()


AMOUNT_TEXTS = [
    *("12.5", "12.123456", "12.1234567", "1e2", "1.5e2", "-3", "-0", "+4", " 7 ", ".5", "5.", "0.0000001", "1E-7"),
    *("1,000", "1_000", "NaN", "Infinity", "1000000", "1000000.000001"),
    *("99999999999999999999999", "9999999999999999999999.9999999", "1e25", "1e400", "-445.24154468e20"),
]


def test_amount_texts_checked_as_on_duckdb(readings):
    """dbt.type_numeric() is unconstrained numeric on PostgreSQL, which kept a 7th decimal that DuckDB's
    numeric(28,6) rounds (so the contract calls it invalid_amount there): amounts are decimal(28, 6) everywhere.
    And a value too big for the type (or for a double) fails the whole landing on PostgreSQL, where DuckDB's
    try_cast gives NULL (implausible_amount): postgres__safe_try_cast checks the range first."""
    on_duckdb, on_postgres = readings["amount"]
    assert on_duckdb["12.1234567"] == "invalid_amount" and on_duckdb["12.123456"] is None
    assert on_duckdb["99999999999999999999999"] == on_duckdb["1e400"] == "implausible_amount"
    assert on_duckdb["-445.24154468e20"] == "implausible_amount"
    assert set(on_duckdb) == set(AMOUNT_TEXTS)
    assert on_postgres == on_duckdb


def _driver(args: list[str], server, work: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [
            sys.executable,
            str(SCRIPTS / "run_pipeline.py"),
            *("--target", "postgres", "--database", str(work / "driver" / "copy.duckdb")),
            *("--release-dir", str(work / "driver" / "releases"), "--activation-dir", str(work / "driver" / "act")),
            *args,
        ],
        cwd=PROJECT_DIR,
        env={**os.environ, **server.env(), **WITHOUT_UNIT_TESTS},
        capture_output=True,
        text=True,
    )


def _schemas_and_rows(server) -> tuple[set[str], int, int]:
    connection = _connect(server)
    try:
        with connection.cursor() as cursor:
            cursor.execute("select schema_name from information_schema.schemata")
            schemas = {row[0] for row in cursor.fetchall()}
            cursor.execute("select count(*) from marts.customer_lifecycle")
            persons = cursor.fetchone()[0]
            cursor.execute("select count(*) from marts.customer_stage_history")
            history = cursor.fetchone()[0]
        return schemas, persons, history
    finally:
        connection.close()


def test_driver_publishes_by_swapping_schemas(postgres_nights, server, work):
    """run_pipeline.py --target postgres builds into *__next schemas: a failed test leaves the live schemas as
    they were (exit 4, nothing published); the next, passing build is swapped in (its marts equal DuckDB's
    second night: test_every_mart_equals_duckdb) and exported as a release."""
    driver = postgres_nights["driver"]
    failed, before, after_failure = driver["failed"], driver["before"], driver["after_failure"]
    assert failed.returncode == 4, failed.stderr[-2000:]
    assert "quarantine_share_within_limit" in failed.stderr
    assert after_failure[1:] == before[1:]
    assert "marts__next" in after_failure[0]  # the failed build stays there to be looked at
    assert not driver["released_after_failure"]

    schemas, persons, history = _schemas_and_rows(server)
    assert not {name for name in schemas if name.endswith(("__next", "__old"))}
    assert {"staging", "quarantine", "intermediate", "marts"} <= schemas
    # the history was carried over into the new schemas (its rows are compared with DuckDB's)
    assert history >= before[2] > 0
    released = work / "driver" / "releases" / "current" / "customer_lifecycle.parquet"
    import pyarrow.parquet as pq

    assert pq.read_metadata(released).num_rows == persons


def test_landed_text_sorts_by_code_point(readings, server, work):
    """PostgreSQL orders text by the database's collation; a linguistic one puts '_' before '-' (and 'é' before
    'f'), DuckDB orders by code point, so a tie-break on text (first_by, de-duplication) could keep another of
    two equally early rows. The landed text columns are collate "C" (in_byte_order), and
    the models after them inherit it: shown here on a database whose collation is ICU 'en-US'."""
    connection = _connect(server)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select column_name, collation_name from information_schema.columns where table_schema = 'staging' "
                "and table_name = 'base_shop__sessions' and column_name in ('email', 'visitor_id', 'device')"
            )
            assert dict(cursor.fetchall()) == {"email": "C", "visitor_id": "C", "device": "C"}
    finally:
        connection.close()
    server.psql(
        "create database lifecycle_en_us template template0 locale_provider icu icu_locale 'en-US' locale 'C.UTF-8'",
        dbname="postgres",
    )
    # the project's SQL for the two readings, run on that database
    printed = _printed(["compile", "--output", "json", "--inline", COLLATION_SQL], server, work)
    compiled = json.loads(printed[printed.index("{") :])
    connection = _connect(server, "lifecycle_en_us")
    try:
        with connection.cursor() as cursor:
            cursor.execute(compiled["compiled"])
            on_en_us = {check: output for check, _, output in cursor.fetchall()}
    finally:
        connection.close()
    on_duckdb = {check: readings[check][0][""] for check in ("min_plain", "min_byte_order")}
    assert on_duckdb == {"min_plain": "a-b@x.com", "min_byte_order": "a-b@x.com"}
    assert on_en_us == {"min_plain": "a_b@x.com", "min_byte_order": "a-b@x.com"}


# Code points around the email rule's hidden characters (whitespace, C0/C1 controls, format characters), and
# visible letters that must stay valid.
EMAIL_CODE_POINTS = [9, 10, 32, 127, 128, 133, 159, 160, 173, 233, 1536, 1564, 6158, 8203, 8232, 8288, 12288, 20013]
EMAIL_CODE_POINTS += [65279, 65529, 69821, 917505, 917536]


def test_hidden_characters_in_emails_as_on_duckdb(readings):
    """PostgreSQL's regular expressions have no Unicode categories, and [:space:] / [:cntrl:] are ASCII only under
    collation "C": the email rule lists the characters by code point there, and agrees with DuckDB's \\p{Z},
    \\p{Cc}, \\p{Cf} on each of these."""
    on_duckdb, on_postgres = readings["email"]
    assert on_duckdb["233"] == on_duckdb["20013"] == "true" and on_duckdb["133"] == "false"
    assert set(on_duckdb) == {str(n) for n in EMAIL_CODE_POINTS}
    assert on_postgres == on_duckdb
    assert readings["email_in_byte_order"][1] == on_duckdb


# The texts of two equally early rows whose order depends on the collation ('_' vs '-', 'é' vs 'f').
COLLATION_SQL = " union all ".join(
    _reading(check, f"min({value})", "(values ('a_b@x.com'), ('a-b@x.com'), ('éa@x.com')) as texts(v)", "''")
    for check, value in (("min_plain", "v"), ("min_byte_order", "{{ in_byte_order('v') }}"))
)
_CODE_POINTS = "(values " + ", ".join(f"({n})" for n in EMAIL_CODE_POINTS) + ") as points(n)"
_EMAIL = "'a' || chr(n) || 'b@x.com'"
# Every value-level reading compared between the engines (the `readings` fixture): one query, one row per value.
READINGS_SQL = " union all ".join(
    [
        _reading("timestamp", "{{ to_utc_timestamp('v') }}", _values(TIMESTAMP_TEXTS)),
        "{% set typed = safe_try_cast('trim(v)', type_amount()) %}"
        + _reading("amount", "{{ first_failing_check(amount_checks('v', typed, 'amount')) }}", _values(AMOUNT_TEXTS)),
        _reading("email", '{{ is_valid_email("' + _EMAIL + '") }}', _CODE_POINTS, "n"),
        _reading("email_in_byte_order", '{{ is_valid_email(in_byte_order("' + _EMAIL + '")) }}', _CODE_POINTS, "n"),
        COLLATION_SQL,
    ]
)


def test_marts_carry_their_descriptions_as_comments(postgres_nights, server, work):
    """persist_docs: each mart table and each of its columns has the model's and the column's description from
    the YAML as its PostgreSQL comment (BI tools show them), still after the driver's schema swap."""
    manifest = json.loads((work / "pg_target" / "manifest.json").read_text())
    documented = {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model" and node["config"].get("persist_docs", {}).get("columns")
    }
    connection = _connect(server)
    try:
        with connection.cursor() as cursor:
            cursor.execute(
                "select c.relname, obj_description(c.oid, 'pg_class') from pg_class as c "
                "join pg_namespace as n on n.oid = c.relnamespace where n.nspname = 'marts' and c.relkind in ('r', 'v')"
            )
            tables = dict(cursor.fetchall())
            cursor.execute(
                "select c.relname, a.attname, col_description(c.oid, a.attnum) from pg_attribute as a "
                "join pg_class as c on c.oid = a.attrelid join pg_namespace as n on n.oid = c.relnamespace "
                "where n.nspname = 'marts' and c.relkind in ('r', 'v') and a.attnum > 0 and not a.attisdropped"
            )
            columns = {(table, column): comment for table, column, comment in cursor.fetchall()}
    finally:
        connection.close()
    assert len(tables) >= 10 and set(tables) <= set(documented)
    assert tables == {name: documented[name]["description"] for name in tables}
    expected = {
        (table, column): documented[table]["columns"][column]["description"]
        for table in tables
        for column in documented[table]["columns"]
    }
    assert set(expected) == set(columns)
    assert columns == expected
    assert all(comment.strip() for comment in [*tables.values(), *columns.values()])
