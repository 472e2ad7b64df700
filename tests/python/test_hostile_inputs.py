"""Hostile raw inputs (docs/raw-data-contract.md "Strict parsing"): every case with its exact outcome.

Row-level cases share one `dbt build --select staging` over a raw folder that holds them all: orders as a folder
of CSV files (three headers, LF and CRLF, a BOM, a file name with glob characters, a Latin-1 record), sessions as
one Parquet file with typed columns, newsletter_signups as one CSV file with a quoted header, email_events as a
folder of Parquet files whose columns come in different orders; the raw folder's own path holds [, * and ?.
Each case is one id: staged with exactly these values, or quarantined with exactly this reason (and its raw text).
A record that cannot be split into the header's fields has no id: it is found by its text (`raw_record`).

File-level cases run the driver's input check (no dbt): exit 2 naming the file, the line and the cause.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dbt_harness import PROJECT_DIR, query, run_dbt

from lifecycle_pipeline import csv_files
from lifecycle_pipeline.errors import EXIT_BAD_INPUT, InputError
from lifecycle_pipeline.inputs import check_raw_dir, landed_batches
from lifecycle_pipeline.summary import collect, format_text

ID_COLUMNS = {
    "orders": "order_id",
    "sessions": "session_id",
    "newsletter_signups": "signup_id",
    "email_events": "event_id",
}
STAGED_COLUMNS = {
    "orders": ["customer_id", "email", "status", "amount", "ordered_at"],
    "sessions": ["email", "started_at", "ended_at", "page_views", "cart_adds", "cart_value"],
    "newsletter_signups": ["email", "signed_up_at", "unsubscribed_at"],
    "email_events": ["email", "event_type", "occurred_at"],
}
T = dt.datetime


@dataclass
class Case:
    """One hostile row: `staged` = the staged row's values (STAGED_COLUMNS); else `reason` with `raw`, the
    quarantine's raw values by column, or `record`, the text of a record that has no fields."""

    dataset: str
    key: str
    staged: dict | None = None
    reason: str | None = None
    raw: dict = field(default_factory=dict)
    record: str | None = None


CASES: list[Case] = []


def staged(dataset, key, **values):
    CASES.append(Case(dataset, key, staged=values))


def quarantined(dataset, key, reason, **raw):
    CASES.append(Case(dataset, key, reason=reason, raw=raw))


def set_aside(dataset, key, reason, record):
    CASES.append(Case(dataset, key, reason=reason, record=record))


ORDER = dict(customer_id="c1", email="ann@example.com", status="completed", amount=Decimal("5"))
MARCH_1 = T(2024, 3, 1, 10)

# --- orders: a folder of CSV files ------------------------------------------------------------------------------
ORDERS_HEADER = "order_id,customer_id,email,ordered_at,status,amount"
ORDERS_JANUARY = []  # the records of orders/2024-01.csv, each as written


def order_row(key, text):
    """A record of orders/2024-01.csv (`key` names the case it belongs to, for the reader)."""
    ORDERS_JANUARY.append(text)


def plain(key, *, customer="c1", email="ann@example.com", at="2024-03-01 10:00:00", status="completed", amount="5"):
    return f"{key},{customer},{email},{at},{status},{amount}"


order_row("o01", plain("o01", amount="12.50"))
staged("orders", "o01", **{**ORDER, "amount": Decimal("12.50"), "ordered_at": MARCH_1})
order_row("o02", plain("o02", customer='"c,1"'))
staged("orders", "o02", **{**ORDER, "customer_id": "c,1", "ordered_at": MARCH_1})
order_row("o03", plain("o03", customer='"c""1"'))
staged("orders", "o03", **{**ORDER, "customer_id": 'c"1', "ordered_at": MARCH_1})
order_row("o04", plain("o04", customer='"c\n1"'))
staged("orders", "o04", **{**ORDER, "customer_id": "c\n1", "ordered_at": MARCH_1})
order_row("o05", plain("o05", customer='"c\r\n1"'))
staged("orders", "o05", **{**ORDER, "customer_id": "c\r\n1", "ordered_at": MARCH_1})
# the case: an unquoted thousands separator makes a seventh field
order_row("o06", plain("o06", amount="1,234.56"))
set_aside("orders", "o06", "wrong_field_count", plain("o06", amount="1,234.56"))
order_row("o07", "o07,c1,ann@example.com,2024-03-01 10:00:00,completed")
set_aside("orders", "o07", "wrong_field_count", "o07,c1,ann@example.com,2024-03-01 10:00:00,completed")
order_row("o08", plain("o08", customer='"c"1'))
set_aside("orders", "o08", "malformed_csv_record", plain("o08", customer='"c"1'))
for key, amount, reason in [
    ("o09", '"1,234.56"', "invalid_amount"),
    ("o10", "1_000", "invalid_amount"),
    ("o12", "1e20", "implausible_amount"),
    ("o13", "1000000.01", "implausible_amount"),
    ("o15", "NaN", "invalid_amount"),
    ("o16", "Infinity", "invalid_amount"),
    ("o17", "$5", "invalid_amount"),
    ("o18", "2.1234567", "invalid_amount"),
    ("o19", ".5", "invalid_amount"),
    ("o20", "-3", "negative_amount"),
    ("o49", "0x10", "invalid_amount"),
    ("o50", "1e400", "implausible_amount"),
    # beyond numeric(28, 6) and negative: too big comes before negative (DuckDB's try_cast let it through)
    ("o71", "-445.24154468e20", "implausible_amount"),
    ("o72", "-1e22", "implausible_amount"),
    ("o73", "-9999999999999999999999.5", "negative_amount"),
]:
    order_row(key, plain(key, amount=amount))
    quarantined("orders", key, reason, amount=amount.strip('"'))
order_row("o11", plain("o11", amount="1.5e2"))
staged("orders", "o11", **{**ORDER, "amount": Decimal("150"), "ordered_at": MARCH_1})
order_row("o14", plain("o14", amount="1000000"))
staged("orders", "o14", **{**ORDER, "amount": Decimal("1000000"), "ordered_at": MARCH_1})
for key, at, reason in [
    ("o21", "epoch", "invalid_ordered_at"),
    ("o22", "-infinity", "invalid_ordered_at"),
    ("o23", "today", "invalid_ordered_at"),
    ("o24", "allballs", "invalid_ordered_at"),
    ("o25", "1970-01-01", "implausible_ordered_at"),
    ("o26", "2024-02-30", "invalid_ordered_at"),
    ("o51", "2024/03/01 10:00:00", "invalid_ordered_at"),
    ("o52", "2999-01-01", "future_ordered_at"),
    ("o74", "0000-01-01", "invalid_ordered_at"),  # no year 0 in the calendar (DuckDB read it as 1 BC)
]:
    order_row(key, plain(key, at=at))
    quarantined("orders", key, reason, ordered_at=at)
order_row("o27", plain("o27", at="2024-03-01"))
staged("orders", "o27", **{**ORDER, "ordered_at": T(2024, 3, 1)})
order_row("o28", plain("o28", at="2024-03-01T10:00:00+02:00"))
staged("orders", "o28", **{**ORDER, "ordered_at": T(2024, 3, 1, 8)})
order_row("o53", plain("o53", at="1990-01-01"))
staged("orders", "o53", **{**ORDER, "ordered_at": T(1990, 1, 1)})
for key, email in [
    ("o29", "ann\u200b@example.com"),  # zero-width space
    ("o30", "ann\x00@example.com"),  # NUL
    ("o31", "ann@b@example.com"),
    ("o32", "ann@localhost"),
    ("o33", "ann smith@example.com"),
    ("o34", "ann\u00a0@example.com"),  # no-break space
    ("o35", "an\u00adn@example.com"),  # soft hyphen
    ("o38", "ann@example."),
    ("o39", "\ufeffann@example.com"),  # a BOM inside the field
    ("o54", "ann@.com"),
    ("o55", "ann\u200d@example.com"),  # zero-width joiner
]:
    order_row(key, plain(key, email=email))
    quarantined("orders", key, "invalid_email", email=email)
order_row("o36", plain("o36", email="  Ann@Example.COM "))
staged("orders", "o36", **{**ORDER, "email": "ann@example.com", "ordered_at": MARCH_1})
order_row("o37", plain("o37", email="jörg@bücher.de"))
staged("orders", "o37", **{**ORDER, "email": "jörg@bücher.de", "ordered_at": MARCH_1})

# 2024-02.csv: another column order and an extra column
ORDERS_FEBRUARY = "amount,status,note,ordered_at,email,customer_id,order_id\n" + (
    '7.25,Returned,"a note, with a comma",2024-02-01T09:00:00Z,bob@example.com,c2,o40\n'
    "5,completed,x,2024-02-01 09:00:00,bob@example.com,c2,o41,surplus\n"
)
staged("orders", "o40", customer_id="c2", email="bob@example.com", status="returned", amount=Decimal("7.25"),
       ordered_at=T(2024, 2, 1, 9))  # fmt: skip
set_aside("orders", "o41", "wrong_field_count", "5,completed,x,2024-02-01 09:00:00,bob@example.com,c2,o41,surplus")

# 2024-03.csv: a UTF-8 BOM and CRLF line breaks (a quoted LF inside is part of the field)
ORDERS_MARCH = (
    "\ufeff"
    + ORDERS_HEADER
    + "\r\n"
    + plain("o42")
    + "\r\n"
    + "o43,c1,ann@example.com\r\n"
    + plain("o44", customer='"c\n1"')
    + "\r\n"
)
staged("orders", "o42", **{**ORDER, "ordered_at": MARCH_1})
set_aside("orders", "o43", "wrong_field_count", "o43,c1,ann@example.com")
staged("orders", "o44", **{**ORDER, "customer_id": "c\n1", "ordered_at": MARCH_1})

# 2024-05[a]*.csv: glob characters in a file name
ORDERS_GLOB_NAME = "2024-05[a]*.csv"
ORDERS_MAY = ORDERS_HEADER + "\n" + plain("o47") + "\n"
staged("orders", "o47", **{**ORDER, "ordered_at": MARCH_1})

# 2024-06.csv: a Latin-1 byte (the driver stops before dbt; dbt alone sets the record aside)
ORDERS_JUNE = (ORDERS_HEADER + "\n").encode() + plain("o48", email="caf\xe9@example.com").encode("latin-1") + b"\n"
# 2024-00.csv: only a header
ORDERS_EMPTY = ORDERS_HEADER + "\n"

# --- sessions: one Parquet file with typed columns -------------------------------------------------------------
SESSION = dict(email="sue@example.com", started_at=T(2024, 3, 1, 9), ended_at=T(2024, 3, 1, 9, 30), page_views=3,
               cart_adds=1, cart_value=Decimal("10.5"))  # fmt: skip
SESSION_ROWS = []


def session(key, **changes):
    row = {
        "session_id": key,
        "visitor_id": "v1",
        "customer_id": None,
        "email": "sue@example.com",
        "started_at": T(2024, 3, 1, 9),
        "ended_at": dt.datetime(2024, 3, 1, 9, 30, tzinfo=dt.UTC),
        "device": "mobile",
        "channel": "email",
        "page_views": 3,
        "cart_adds": "1",
        "cart_value": 10.5,
        "order_id": None,
    }
    row.update(changes)
    SESSION_ROWS.append(row)


session("s01")
staged("sessions", "s01", **SESSION)
session("s02", ended_at=dt.datetime(2024, 3, 1, 8, tzinfo=dt.UTC))  # ends before it starts
staged("sessions", "s02", **{**SESSION, "ended_at": T(2024, 3, 1, 9)})
session("s03", page_views=3_000_000_000)
quarantined("sessions", "s03", "invalid_page_views", page_views="3000000000")
session("s04", page_views=-1)
quarantined("sessions", "s04", "negative_page_views", page_views="-1")
session("s05", cart_adds="2.0")
staged("sessions", "s05", **{**SESSION, "cart_adds": 2})
session("s06", cart_adds="2.5")
quarantined("sessions", "s06", "invalid_cart_adds", cart_adds="2.5")
session("s07", cart_adds="1e2")
staged("sessions", "s07", **{**SESSION, "cart_adds": 100})
session("s08", cart_adds="1,000")
quarantined("sessions", "s08", "invalid_cart_adds", cart_adds="1,000")
session("s09", cart_value=float("nan"))
quarantined("sessions", "s09", "invalid_cart_value", cart_value="nan")
session("s10", cart_value=float("inf"))
quarantined("sessions", "s10", "invalid_cart_value", cart_value="inf")
session("s11", cart_value=1e20)
quarantined("sessions", "s11", "implausible_cart_value", cart_value="1e+20")
session("s12", cart_value=1000000.5)
quarantined("sessions", "s12", "implausible_cart_value", cart_value="1000000.5")
session("s13", cart_value=None)
staged("sessions", "s13", **{**SESSION, "cart_value": None})
session("s14", cart_value=0.1)
staged("sessions", "s14", **{**SESSION, "cart_value": Decimal("0.1")})
session("s15", started_at=T(1900, 1, 1))
quarantined("sessions", "s15", "implausible_started_at", started_at="1900-01-01 00:00:00")
session("s16", ended_at=dt.datetime(1960, 1, 1, tzinfo=dt.UTC))
quarantined("sessions", "s16", "implausible_ended_at", ended_at="1960-01-01 00:00:00+00")
session("s17", email="sue\x00@example.com")
quarantined("sessions", "s17", "invalid_email", email="sue\x00@example.com")
session("s18", email=None)
staged("sessions", "s18", **{**SESSION, "email": None})
session("s19", email="")
staged("sessions", "s19", **{**SESSION, "email": None})
session("s20", ended_at=dt.datetime(2024, 3, 1, 12, tzinfo=dt.timezone(dt.timedelta(hours=2))))
staged("sessions", "s20", **{**SESSION, "ended_at": T(2024, 3, 1, 10)})
session("s21", cart_value=12.345)
staged("sessions", "s21", **{**SESSION, "cart_value": Decimal("12.345")})

# --- newsletter_signups: one CSV file, quoted header names, one of them with spaces ------------------------------
SIGNUPS = (
    '"signup_id"," Email ","signed_up_at","source","unsubscribed_at"\n'
    "n01,zoe@example.com,2024-01-01T00:00:00,newsletter,\n"
    "n02,zoe@example.com,2024-01-01T00:00:00,newsletter,epoch\n"
    "n03,zoe@example.com,2024-01-01T00:00:00,newsletter,1989-12-31\n"
    "n04,zoe@example.com,now,newsletter,\n"
    "n05,zoe@example.com,infinity,newsletter,\n"
    "n06,zo\u200de@example.com,2024-01-01,newsletter,\n"
    "n07,zoe@example.com,2999-01-01,newsletter,\n"
    "   \n"
    'n09,zoe@example.com,"2024-01-01\nT00:00",newsletter,,extra\n'
    "n10,zoe\t@example.com,2024-01-01,newsletter,\n"
    'n11,zoe@example.com,2024-01-01,newsletter,""\n'
)
staged("newsletter_signups", "n01", email="zoe@example.com", signed_up_at=T(2024, 1, 1), unsubscribed_at=None)
quarantined("newsletter_signups", "n02", "invalid_unsubscribed_at", unsubscribed_at="epoch")
quarantined("newsletter_signups", "n03", "implausible_unsubscribed_at", unsubscribed_at="1989-12-31")
quarantined("newsletter_signups", "n04", "invalid_signed_up_at", signed_up_at="now")
quarantined("newsletter_signups", "n05", "invalid_signed_up_at", signed_up_at="infinity")
quarantined("newsletter_signups", "n06", "invalid_email", email="zo\u200de@example.com")
quarantined("newsletter_signups", "n07", "future_signed_up_at", signed_up_at="2999-01-01")
set_aside("newsletter_signups", "n08", "wrong_field_count", "   ")
set_aside(
    "newsletter_signups", "n09", "wrong_field_count", 'n09,zoe@example.com,"2024-01-01\nT00:00",newsletter,,extra'
)
quarantined("newsletter_signups", "n10", "invalid_email", email="zoe\t@example.com")
staged("newsletter_signups", "n11", email="zoe@example.com", signed_up_at=T(2024, 1, 1), unsubscribed_at=None)

# --- email_events: a folder of Parquet files, columns in different orders, glob characters in file names -----------
EVENT_COLUMNS = ["event_id", "email", "campaign_id", "event_type", "occurred_at"]
EVENTS_FIRST = [
    ("e01", "max@example.com", "k1", "open", "2024-03-01T10:00:00"),
    ("e02", "max@example.com", "k1", "open", "infinity"),
    ("e03", "max@example.com", "k1", "open", "-infinity"),
    ("e04", "max@example.com", "k1", "open", "yesterday"),
    ("e05", "max@example.com", "k1", "open", "1989-12-31T23:59:59"),
    ("e06", "max@example.com", "k1", "open", "1990-01-01"),
    ("e07", "ma\u00adx@example.com", "k1", "open", "2024-03-01T10:00:00"),
    ("e08", " MAX@Example.CO ", "k1", "CLICK", "2024-03-01T10:00:00Z"),
]
EVENTS_SECOND = [  # written with the columns in reverse order
    ("e09", "max@example.com", "k2", "delivered", "2024-03-02 10:00:00"),
    ("e10", "max@b", "k2", "delivered", "2024-03-02 10:00:00"),
    ("e11", "max@example.com", "k2", "delivered", "2024-03-02 10:00:00.123456"),
]
staged("email_events", "e01", email="max@example.com", event_type="open", occurred_at=MARCH_1)
quarantined("email_events", "e02", "invalid_occurred_at", occurred_at="infinity")
quarantined("email_events", "e03", "invalid_occurred_at", occurred_at="-infinity")
quarantined("email_events", "e04", "invalid_occurred_at", occurred_at="yesterday")
quarantined("email_events", "e05", "implausible_occurred_at", occurred_at="1989-12-31T23:59:59")
staged("email_events", "e06", email="max@example.com", event_type="open", occurred_at=T(1990, 1, 1))
quarantined("email_events", "e07", "invalid_email", email="ma\u00adx@example.com")
staged("email_events", "e08", email="max@example.co", event_type="click", occurred_at=MARCH_1)
staged("email_events", "e09", email="max@example.com", event_type="delivered", occurred_at=T(2024, 3, 2, 10))
quarantined("email_events", "e10", "invalid_email", email="max@b")
staged("email_events", "e11", email="max@example.com", event_type="delivered",
       occurred_at=T(2024, 3, 2, 10, 0, 0, 123456))  # fmt: skip


def write_orders(folder: Path) -> None:
    folder.mkdir(parents=True)
    (folder / "2024-00.csv").write_text(ORDERS_EMPTY)
    (folder / "2024-01.csv").write_text(ORDERS_HEADER + "\n" + "\n".join(ORDERS_JANUARY) + "\n", newline="")
    (folder / "2024-02.csv").write_text(ORDERS_FEBRUARY, newline="")
    (folder / "2024-03.csv").write_text(ORDERS_MARCH, newline="")
    (folder / ORDERS_GLOB_NAME).write_text(ORDERS_MAY, newline="")
    (folder / "2024-06.csv").write_bytes(ORDERS_JUNE)


def write_raw(raw_dir: Path) -> None:
    write_orders(raw_dir / "orders")
    sessions = pa.Table.from_pylist(
        SESSION_ROWS,
        schema=pa.schema(
            [
                ("session_id", pa.string()),
                ("visitor_id", pa.string()),
                ("customer_id", pa.string()),
                ("email", pa.string()),
                ("started_at", pa.timestamp("us")),
                ("ended_at", pa.timestamp("us", tz="UTC")),
                ("device", pa.string()),
                ("channel", pa.string()),
                ("page_views", pa.int64()),
                ("cart_adds", pa.string()),
                ("cart_value", pa.float64()),
                ("order_id", pa.string()),
            ]
        ),
    )
    pq.write_table(sessions, raw_dir / "sessions.parquet")
    (raw_dir / "newsletter_signups.csv").write_text(SIGNUPS, newline="")
    events = raw_dir / "email_events"
    events.mkdir()
    pq.write_table(pa.Table.from_pylist([dict(zip(EVENT_COLUMNS, row, strict=True)) for row in EVENTS_FIRST]),
                   events / "part[1].parquet")  # fmt: skip
    reverse = list(reversed(EVENT_COLUMNS))
    pq.write_table(
        pa.Table.from_pylist([dict(zip(EVENT_COLUMNS, row, strict=True)) for row in EVENTS_SECOND]).select(reverse),
        events / "part*2.parquet",
    )


@pytest.fixture(scope="module")
def hostile_build(tmp_path_factory):
    """One staging build over every row-level case; the raw folder's path holds glob characters."""
    work = tmp_path_factory.mktemp("hostile")
    raw_dir = work / "raw [x]*?"
    write_raw(raw_dir)
    database = work / "warehouse.duckdb"
    run_dbt(["build", "--select", "staging"], raw_dir, database)
    return raw_dir, database


@pytest.fixture(scope="module")
def outcomes(hostile_build) -> dict:
    """Per dataset: the staged rows by id (STAGED_COLUMNS), and the quarantined rows as dicts."""
    _, database = hostile_build
    found = {}
    with duckdb.connect(str(database), read_only=True) as con:
        for dataset, id_column in ID_COLUMNS.items():
            columns = ", ".join([id_column, *STAGED_COLUMNS[dataset]])
            staged_rows = con.execute(f"select {columns} from staging.stg_shop__{dataset}").fetchall()
            cursor = con.execute(f"select * from quarantine.quarantine_shop__{dataset}")
            names = [column[0] for column in cursor.description]
            found[dataset] = {
                "staged": {row[0]: row[1:] for row in staged_rows},
                "quarantined": [dict(zip(names, row, strict=True)) for row in cursor.fetchall()],
            }
    return found


@pytest.mark.parametrize("case", CASES, ids=[f"{case.dataset}-{case.key}" for case in CASES])
def test_each_hostile_row_has_its_exact_outcome(outcomes, case):
    id_column = ID_COLUMNS[case.dataset]
    found = outcomes[case.dataset]["staged"].get(case.key)
    quarantined_rows = [
        row
        for row in outcomes[case.dataset]["quarantined"]
        if row[id_column] == case.key or (case.record is not None and row["raw_record"] == case.record)
    ]
    if case.staged is not None:
        assert quarantined_rows == []
        assert found == tuple(case.staged[column] for column in STAGED_COLUMNS[case.dataset])
        return
    assert found is None
    assert len(quarantined_rows) == 1, quarantined_rows
    [row] = quarantined_rows
    assert row["quarantine_reason"] == case.reason
    if case.record is not None:
        assert row["raw_record"] == case.record
        assert row[id_column] is None
    else:
        assert row["raw_record"] is None
        assert {column: row[column] for column in case.raw} == case.raw


def test_there_are_at_least_forty_cases():
    assert len(CASES) >= 40


def test_every_record_is_staged_or_quarantined_once(hostile_build):
    """Records per dataset counted by hand from the files above = staged + quarantined."""
    _, database = hostile_build
    records = {
        "orders": len(ORDERS_JANUARY) + 2 + 3 + 1 + 1,  # January, February, March, May, June
        "sessions": len(SESSION_ROWS),
        "newsletter_signups": 11,
        "email_events": len(EVENTS_FIRST) + len(EVENTS_SECOND),
    }
    for dataset, expected in records.items():
        [(staged_rows,)] = query(database, f"select count(*) from staging.stg_shop__{dataset}")
        [(quarantined_rows,)] = query(database, f"select count(*) from quarantine.quarantine_shop__{dataset}")
        [(landed,)] = query(database, f"select count(*) from staging.base_shop__{dataset}")
        assert staged_rows + quarantined_rows == landed == expected, dataset


def test_dbt_alone_sets_a_latin1_record_aside(hostile_build):
    """Without the driver's check, the reader sets the record aside (its text lossy) instead of failing."""
    _, database = hostile_build
    rows = query(
        database,
        "select quarantine_reason, source_file, raw_record from quarantine.quarantine_shop__orders "
        "where raw_record like 'o48,%'",
    )
    assert [(reason, file) for reason, file, _ in rows] == [("malformed_csv_record", "2024-06.csv")]


def test_file_names_with_glob_characters_are_read_literally(hostile_build):
    _, database = hostile_build
    assert query(database, "select _source_file from staging.base_shop__orders where order_id = 'o47'") == [
        (ORDERS_GLOB_NAME,)
    ]
    assert query(database, "select distinct _source_file from staging.base_shop__email_events order by 1") == [
        ("part*2.parquet",),
        ("part[1].parquet",),
    ]


def test_the_run_summary_counts_records_and_sessions_ending_before_they_start(hostile_build):
    """Records read include the ones the reader set aside; s02 ends before it starts: staged, and counted."""
    _, database = hostile_build
    with duckdb.connect(str(database), read_only=True) as con:
        summary = collect(con)
    [(landed,)] = query(database, "select count(*) from staging.base_shop__orders")
    assert summary["sources"]["orders"]["rows_read"] == landed
    assert summary["sessions_end_set_to_start"] == 1
    assert "sessions ending before they started: 1 (ended_at set to started_at)" in format_text(summary)


def test_a_new_file_lands_only_its_own_set_aside_records(hostile_build, tmp_path):
    """Landing appends a new file of a folder, and with it only the records the reader set aside in that file."""
    raw_dir, database = hostile_build
    raw_copy, database_copy = tmp_path / "raw", tmp_path / "warehouse.duckdb"
    shutil.copytree(raw_dir, raw_copy)
    shutil.copy(database, database_copy)
    (raw_copy / "orders" / "2024-07.csv").write_text(ORDERS_HEADER + "\n" + plain("o60") + "\no61,short\n")
    run_dbt(["build", "--select", "staging"], raw_copy, database_copy)
    before = query(database, "select _source_file, count(*) from staging.base_shop__orders group by 1 order by 1")
    after = query(database_copy, "select _source_file, count(*) from staging.base_shop__orders group by 1 order by 1")
    assert after == sorted([*before, ("2024-07.csv", 2)])
    assert query(
        database_copy,
        "select quarantine_reason, raw_record from quarantine.quarantine_shop__orders "
        "where source_file = '2024-07.csv'",
    ) == [("wrong_field_count", "o61,short")]
    # the landed rows of the other files kept their load time: they were not landed again
    assert query(database_copy, "select count(distinct _loaded_at) from staging.base_shop__orders") == [(2,)]


# --- file-level: the driver's input check -----------------------------------------------------------------------
def _raw_with_orders(tmp_path: Path, orders: bytes, name: str = "orders.csv") -> Path:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / name).write_bytes(orders)
    pq.write_table(pa.Table.from_pylist(SESSION_ROWS[:1]), raw / "sessions.parquet")
    (raw / "newsletter_signups.csv").write_text(SIGNUPS.split("\n")[0] + "\n")
    (raw / "email_events.csv").write_text(",".join(EVENT_COLUMNS) + "\n")
    return raw


HEADER = (ORDERS_HEADER + "\n").encode()
ROW = (plain("o1") + "\n").encode()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (HEADER + ROW + b"o2,c1,caf\xe9@example.com,2024-03-01,completed,5\n",
         "is not valid UTF-8: line 3: byte 0xE9 at file offset"),
        ("order_id,email\n".encode("utf-16"), "line 1 starts with a UTF-16 byte order mark"),
        (HEADER + ROW + b"o2,c1,\xc3", "is not valid UTF-8: line 3: the file ends inside a multi-byte character"),
        (HEADER + ROW + b"o2,c1,\xed\xa0\x80@example.com,2024-03-01,completed,5\n",  # a UTF-16 surrogate
         "is not valid UTF-8: line 3: byte 0xED"),
        (HEADER.replace(b"\n", b"\r\n") + ROW.replace(b"\n", b"\r\n") + ROW,
         "mixes line breaks: line 1 ends with CRLF, line 3 with LF"),
        (HEADER + ROW + b"o2,c\r1,ann@example.com,2024-03-01,completed,5\n",
         "mixes line breaks: line 1 ends with LF, line 3 with CR"),
        (HEADER + b'o1,"c1,ann@example.com,2024-03-01,completed,5\n' + ROW,
         "has a quoted field that never closes: the quote opened on line 2 runs to the end of the file"),
        (b"", "is missing required column(s) 'order_id'"),
    ],
    ids=["latin1", "utf16", "truncated", "surrogate", "crlf-and-lf", "bare-cr", "unclosed-quote", "empty-file"],
)  # fmt: skip
def test_a_bad_csv_file_stops_before_dbt_naming_the_file(tmp_path, content, message):
    raw = _raw_with_orders(tmp_path, content)
    with pytest.raises(InputError) as raised:
        check_raw_dir(raw)
    assert str(raw / "orders.csv") in str(raised.value)
    assert message in str(raised.value)
    assert raised.value.exit_code == EXIT_BAD_INPUT


def test_a_latin1_byte_deep_in_a_big_file_names_its_line(tmp_path, monkeypatch):
    """The check reads blocks; a bad byte after the first block (made small here) is found with its line."""
    monkeypatch.setattr(csv_files, "BLOCK", 1000)
    content = HEADER + ROW * 500 + b"o9,c1,caf\xe9@example.com,2024-03-01,completed,5\n" + ROW * 10
    raw = _raw_with_orders(tmp_path, content)
    with pytest.raises(InputError, match=r"orders\.csv is not valid UTF-8: line 502: byte 0xE9"):
        check_raw_dir(raw)


def test_the_line_break_check_spans_blocks(tmp_path, monkeypatch):
    """CRLF records with quoted LF and doubled quotes cut anywhere by the block boundary pass; mixed ones fail."""
    good = HEADER.replace(b"\n", b"\r\n") + b'o1,"c""\n1",ann@example.com,2024-03-01,completed,5\r\n' * 3
    bad = good + ROW
    for block in range(1, 40):
        monkeypatch.setattr(csv_files, "BLOCK", block)
        raw = tmp_path / f"b{block}"
        raw.mkdir()
        (raw / "good.csv").write_bytes(good)
        (raw / "bad.csv").write_bytes(bad)
        csv_files.check_csv_file(raw / "good.csv")
        with pytest.raises(InputError, match="line 8 with LF"):
            csv_files.check_csv_file(raw / "bad.csv")


@pytest.mark.parametrize(
    "content",
    [
        HEADER.replace(b"\n", b"\r\n") + b'o1,"c\n1",ann@example.com,2024-03-01,completed,5\r\n',
        HEADER + b'o1,"c\r\n1",ann@example.com,2024-03-01,completed,5\n',
        HEADER.replace(b"\n", b"\r") + ROW.replace(b"\n", b"\r"),
        b"\xef\xbb\xbf" + HEADER + "o1,c1,jörg@bücher.de,2024-03-01,completed,5\n".encode(),
        HEADER,
    ],
    ids=["crlf-quoted-lf", "lf-quoted-crlf", "cr-only", "bom-and-utf8", "header-only"],
)
def test_a_good_csv_file_passes_the_check(tmp_path, content):
    raw = _raw_with_orders(tmp_path, content)
    found = check_raw_dir(raw)
    assert found[0].columns == tuple(ORDERS_HEADER.split(","))


def test_a_bad_file_in_a_folder_is_named(tmp_path):
    raw = _raw_with_orders(tmp_path, HEADER, name="orders.csv")
    (raw / "orders.csv").unlink()
    (raw / "orders").mkdir()
    (raw / "orders" / "part-1.csv").write_bytes(HEADER + ROW)
    (raw / "orders" / "part-2.csv").write_bytes(HEADER + b"o2,c1,\x96,2024-03-01,completed,5\n")
    with pytest.raises(InputError, match=r"orders/part-2\.csv is not valid UTF-8: line 2: byte 0x96"):
        check_raw_dir(raw)


def _sessions_with_text(raw: Path, values: list[bytes], row_group_size: int = 2) -> Path:
    """sessions.parquet whose `email` column holds `values` as they are, valid UTF-8 or not (written unchecked)."""
    rows = [dict(SESSION_ROWS[0], session_id=f"s{index}") for index in range(len(values))]
    table = pa.Table.from_pylist(rows)
    emails = pa.array(values, pa.binary()).view(pa.string())
    table = table.set_column(table.column_names.index("email"), "email", emails)
    path = raw / "sessions.parquet"
    pq.write_table(table, path, row_group_size=row_group_size)
    return path


def test_a_parquet_value_that_is_not_utf8_stops_the_check_naming_row_and_column(tmp_path):
    """Row 5 sits in the third row group of two rows each: the row number counts across groups."""
    raw = _raw_with_orders(tmp_path, HEADER + ROW)
    values = [b"a@example.com"] * 4 + [b"caf\xe9@example.com", b"b@example.com"]
    _sessions_with_text(raw, values)
    message = r"sessions\.parquet is not valid UTF-8: row 5, column 'email': byte 0xE9 at byte 3 of the value"
    with pytest.raises(InputError, match=message):
        check_raw_dir(raw)


def test_a_landed_file_is_not_read_again_but_a_new_one_is(tmp_path):
    """A folder's files the warehouse has landed were checked when they landed: only their columns are read."""
    raw = _raw_with_orders(tmp_path, HEADER + ROW)
    (raw / "orders.csv").unlink()
    (raw / "orders").mkdir()
    # part-1 mixes line breaks: the content check refuses it, reading its header does not
    (raw / "orders" / "part-1.csv").write_bytes(HEADER + ROW.replace(b"\n", b"\r\n") + ROW)
    (raw / "orders" / "part-2.csv").write_bytes(HEADER + ROW)
    check_raw_dir(raw, landed={"orders": {"part-1.csv"}})
    with pytest.raises(InputError, match=r"orders/part-1\.csv"):
        check_raw_dir(raw, landed={"orders": {"part-2.csv"}})


def test_landed_batches_reads_the_warehouse_and_is_empty_without_one(tmp_path):
    database = tmp_path / "lifecycle.duckdb"
    assert landed_batches(database) == {}
    with duckdb.connect(str(database)) as con:
        con.execute("create schema staging")
        for dataset in ("orders", "sessions", "newsletter_signups", "email_events"):
            con.execute(f"create table staging.base_shop__{dataset} as select 'part-1.csv' as _source_file")
    assert landed_batches(database) == {
        d: {"part-1.csv"} for d in ("orders", "sessions", "newsletter_signups", "email_events")
    }
    with duckdb.connect(str(database)) as con:
        con.execute("drop table staging.base_shop__sessions")
    assert landed_batches(database) == {}


def test_glob_characters_in_the_raw_folder_are_read_literally(tmp_path):
    """The input check reads a raw folder whose path holds [, * and ? (Parquet footers included)."""
    raw = tmp_path / "a[b]*c?"
    shutil.copytree(_raw_with_orders(tmp_path, HEADER + ROW), raw)
    found = check_raw_dir(raw)
    assert [f.path.name for f in found] == ["orders.csv", "sessions.parquet", "newsletter_signups.csv",
                                           "email_events.csv"]  # fmt: skip
    assert found[1].columns[0] == "session_id"


def test_the_driver_exits_2_before_dbt_naming_file_and_line(tmp_path):
    raw = _raw_with_orders(tmp_path, HEADER + ROW + b"o2,c1,caf\xe9@example.com,2024-03-01,completed,5\n")
    database = tmp_path / "warehouse" / "lifecycle.duckdb"
    env = {key: value for key, value in os.environ.items() if not key.startswith("LIFECYCLE_")}
    result = subprocess.run(
        [sys.executable, str(PROJECT_DIR / "scripts" / "run_pipeline.py"), "--raw-dir", str(raw),
         "--database", str(database)],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == EXIT_BAD_INPUT
    assert f"Raw file {raw / 'orders.csv'} is not valid UTF-8: line 3: byte 0xE9" in result.stderr
    assert not database.exists()


def test_without_the_driver_a_record_the_reader_loses_fails_the_accounting_test(tmp_path):
    """DuckDB drops a never-closed quoted field without a word when it reads several files at once (the driver
    refuses such a file before dbt). dbt alone: the records, counted apart from the reader, do not add up."""
    raw = tmp_path / "raw"
    write_raw(raw)
    (raw / "orders" / "2024-04.csv").write_text(ORDERS_HEADER + "\n" + plain("o45", customer='"c1') + "\n")
    result = run_dbt(["build", "--select", "staging"], raw, tmp_path / "w.duckdb", check=False)
    assert result.returncode == 1
    failed = [line for line in result.stdout.splitlines() if " FAIL " in line]
    assert len(failed) == 1 and "raw_rows_accounted_for_stg_shop__orders" in failed[0], failed
