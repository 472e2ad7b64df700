"""Names the summary and the report share: the raw sources, the lifecycle stages, and a table lookup."""

from __future__ import annotations

import duckdb

SOURCES = ("orders", "sessions", "newsletter_signups", "email_events")
STAGES = ("prospect", "new", "repeat", "at_risk", "lapsed")


def table_exists(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    sql = "select count(*) from information_schema.tables where table_schema = ? and table_name = ?"
    return con.execute(sql, [schema, table]).fetchone()[0] > 0
