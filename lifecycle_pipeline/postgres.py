"""The driver's warehouse steps on PostgreSQL (`run_pipeline.py --target postgres`, docs/engines.md).

A run builds into a second set of schemas (`staging__next`, `quarantine__next`, `intermediate__next`,
`marts__next`: dbt var `schema_suffix`), seeded with copies of the only state the project keeps (the landed
`staging.base_shop__*` tables and the stage history), so that the build appends to them as it would in place.
When every test passed, one transaction renames the live schemas away and the new ones into their place and
drops the old ones: PostgreSQL's DDL is transactional, so a reader sees the old schemas or the new ones, never a
mix, and a failed run leaves the live schemas untouched. Views bind to the tables they read, not to their names,
so the renamed views keep reading their own schema's tables. The release is then exported from a local DuckDB
copy of the relations BI and the report read, exactly as on DuckDB.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow as pa

SCHEMAS = ("staging", "quarantine", "intermediate", "marts")
SUFFIX = "__next"
OLD_SUFFIX = "__old"
# The state a build appends to (docs/design.md): the landed rows and the stage history.
STATE_TABLES = (
    ("staging", "base_shop__orders"),
    ("staging", "base_shop__sessions"),
    ("staging", "base_shop__newsletter_signups"),
    ("staging", "base_shop__email_events"),
    ("marts", "customer_stage_history"),
    ("marts", "stage_history_dates"),
)


def connect():
    """A psycopg2 connection from the LIFECYCLE_PG_* variables (the defaults of profiles/profiles.yml)."""
    import psycopg2

    return psycopg2.connect(
        host=os.environ.get("LIFECYCLE_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("LIFECYCLE_PG_PORT", "5432")),
        user=os.environ.get("LIFECYCLE_PG_USER", "postgres"),
        password=os.environ.get("LIFECYCLE_PG_PASSWORD", ""),
        dbname=os.environ.get("LIFECYCLE_PG_DBNAME", "lifecycle"),
        sslmode=os.environ.get("LIFECYCLE_PG_SSLMODE", "prefer"),
    )


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _exists(cursor, schema: str, table: str | None = None) -> bool:
    if table is None:
        cursor.execute("select 1 from information_schema.schemata where schema_name = %s", (schema,))
    else:
        cursor.execute(
            "select 1 from information_schema.tables where table_schema = %s and table_name = %s", (schema, table)
        )
    return cursor.fetchone() is not None


def prepare_build_schemas(connection) -> list[str]:
    """Drop what an earlier, failed run left in the build schemas and seed them with copies of the live state
    tables (one transaction). Returns the tables copied."""
    copied = []
    with connection, connection.cursor() as cursor:
        for schema in SCHEMAS:
            cursor.execute(f"drop schema if exists {_quote(schema + SUFFIX)} cascade")
            cursor.execute(f"drop schema if exists {_quote(schema + OLD_SUFFIX)} cascade")
            cursor.execute(f"create schema {_quote(schema + SUFFIX)}")
        for schema, table in STATE_TABLES:
            if _exists(cursor, schema, table):
                cursor.execute(
                    f"create table {_quote(schema + SUFFIX)}.{_quote(table)} as "
                    f"select * from {_quote(schema)}.{_quote(table)}"
                )
                copied.append(f"{schema}.{table}")
    return copied


def swap_schemas(connection) -> None:
    """Make the build schemas live, in one transaction: live -> __old, __next -> live, drop __old."""
    with connection, connection.cursor() as cursor:
        # Wait for readers rather than fail at once; they see the old schemas until the commit.
        cursor.execute("set local lock_timeout = '60s'")
        for schema in SCHEMAS:
            if _exists(cursor, schema):
                cursor.execute(f"alter schema {_quote(schema)} rename to {_quote(schema + OLD_SUFFIX)}")
            cursor.execute(f"alter schema {_quote(schema + SUFFIX)} rename to {_quote(schema)}")
        for schema in SCHEMAS:
            cursor.execute(f"drop schema if exists {_quote(schema + OLD_SUFFIX)} cascade")


_ARROW_TYPES = {
    "text": pa.string(),
    "character varying": pa.string(),
    "double precision": pa.float64(),
    "real": pa.float32(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "smallint": pa.int16(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp without time zone": pa.timestamp("us"),
}


def _arrow_type(data_type: str, precision, scale) -> pa.DataType:
    if data_type == "numeric":
        # numeric without a declared precision holds any scale: as a double (the marts declare theirs)
        return pa.decimal128(int(precision), int(scale or 0)) if precision else pa.float64()
    return _ARROW_TYPES.get(data_type, pa.string())


def _column_values(rows: list[tuple], index: int, arrow_type: pa.DataType) -> list:
    values = [row[index] for row in rows]
    if pa.types.is_floating(arrow_type):
        return [None if value is None else float(value) for value in values]
    return values


def mirror_to_duckdb(connection, database: Path, relations: list[tuple[str, str]]) -> dict[str, int]:
    """Copy `relations` ((schema, name) pairs; missing ones are left out) from PostgreSQL into a new DuckDB file
    `database`, same schemas, names and column types: the local copy the release is exported from. Returns
    schema.name -> rows."""
    database.parent.mkdir(parents=True, exist_ok=True)
    for path in (database, database.with_name(database.name + ".wal")):
        path.unlink(missing_ok=True)
    counts = {}
    target = duckdb.connect(str(database))
    try:
        with connection.cursor() as cursor:
            for schema, name in relations:
                cursor.execute(
                    "select column_name, data_type, numeric_precision, numeric_scale from information_schema.columns "
                    "where table_schema = %s and table_name = %s order by ordinal_position",
                    (schema, name),
                )
                columns = cursor.fetchall()
                if not columns:
                    continue
                cursor.execute(f"select * from {_quote(schema)}.{_quote(name)}")
                rows = cursor.fetchall()
                fields = [
                    pa.field(column, _arrow_type(kind, precision, scale)) for column, kind, precision, scale in columns
                ]
                table = pa.Table.from_arrays(
                    [pa.array(_column_values(rows, i, field.type), type=field.type) for i, field in enumerate(fields)],
                    schema=pa.schema(fields),
                )
                target.execute(f"create schema if not exists {_quote(schema)}")
                target.register("mirrored", table)
                target.execute(f"create table {_quote(schema)}.{_quote(name)} as select * from mirrored")
                target.unregister("mirrored")
                counts[f"{schema}.{name}"] = len(rows)
    finally:
        target.close()
    return counts


def release_relations(connection) -> list[tuple[str, str]]:
    """What the release and its report read: every relation of schema marts, the quarantine summary and the
    landed tables (the run summary counts their rows)."""
    with connection.cursor() as cursor:
        cursor.execute("select table_name from information_schema.tables where table_schema = 'marts' order by 1")
        marts = [("marts", row[0]) for row in cursor.fetchall()]
    landed = [(schema, table) for schema, table in STATE_TABLES if schema == "staging"]
    return [*marts, ("quarantine", "quarantine_summary"), *landed]
