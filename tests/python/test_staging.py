"""Staging on a hand-made raw fixture: every contract rule sends exactly the expected row to quarantine."""

from __future__ import annotations

import csv
import datetime as dt
import shutil
from decimal import Decimal
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest
from conftest import FIXTURES
from dbt_harness import query, run_dbt

SOURCES = {
    "orders": "order_id",
    "sessions": "session_id",
    "newsletter_signups": "signup_id",
    "email_events": "event_id",
}

# Hand-written from tests/python/fixtures/staging_raw: id of the bad row -> reason (None = empty id).
EXPECTED_QUARANTINE = {
    "orders": {
        ("o2", "duplicate_order_id"),
        (None, "missing_order_id"),
        ("o5", "missing_email"),
        ("o6", "invalid_email"),
        ("o12", "invalid_email"),
        ("o7", "invalid_ordered_at"),
        ("o8", "future_ordered_at"),
        ("o9", "invalid_status"),
        ("o10", "invalid_amount"),
        ("o11", "negative_amount"),
    },
    "sessions": {
        ("s2", "duplicate_session_id"),
        (None, "missing_session_id"),
        ("s4", "missing_visitor_id"),
        ("s5", "invalid_email"),
        ("s6", "invalid_started_at"),
        ("s7", "future_started_at"),
        ("s8", "invalid_ended_at"),
        ("s9", "future_ended_at"),
        ("s10", "invalid_page_views"),
        ("s11", "negative_page_views"),
        ("s12", "invalid_cart_adds"),
        ("s13", "negative_cart_adds"),
        ("s14", "invalid_cart_value"),
        ("s15", "negative_cart_value"),
        # beyond a 32-bit integer: quarantined, not a failed build
        ("s17", "invalid_page_views"),
    },
    "newsletter_signups": {
        ("n1", "duplicate_signup_id"),
        (None, "missing_signup_id"),
        ("n3", "missing_email"),
        ("n4", "invalid_email"),
        ("n5", "invalid_signed_up_at"),
        ("n6", "future_signed_up_at"),
        ("n7", "invalid_unsubscribed_at"),
        ("n8", "future_unsubscribed_at"),
    },
    "email_events": {
        ("e1", "duplicate_event_id"),
        (None, "missing_event_id"),
        ("e4", "missing_email"),
        ("e5", "invalid_email"),
        ("e6", "missing_campaign_id"),
        ("e7", "invalid_event_type"),
        ("e8", "invalid_occurred_at"),
        ("e9", "future_occurred_at"),
    },
}


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_each_bad_row_is_quarantined_with_its_reason(staging_fixture_db, source):
    id_column = SOURCES[source]
    rows = query(staging_fixture_db, f"select {id_column}, quarantine_reason from quarantine.quarantine_shop__{source}")
    assert set(rows) == EXPECTED_QUARANTINE[source]
    assert len(rows) == len(EXPECTED_QUARANTINE[source])


@pytest.mark.parametrize("source", sorted(SOURCES))
def test_raw_rows_equal_staged_plus_quarantined(staging_fixture_db, source):
    with open(FIXTURES / "staging_raw" / f"{source}.csv", newline="") as handle:
        raw_rows = sum(1 for _ in csv.DictReader(handle))
    [(staged,)] = query(staging_fixture_db, f"select count(*) from staging.stg_shop__{source}")
    [(quarantined,)] = query(staging_fixture_db, f"select count(*) from quarantine.quarantine_shop__{source}")
    assert staged > 0
    assert staged + quarantined == raw_rows


def test_orders_are_typed_normalised_and_deduplicated(staging_fixture_db):
    rows = query(
        staging_fixture_db,
        "select order_id, customer_id, email, status, amount, ordered_at from staging.stg_shop__orders order by 1",
    )
    assert rows == [
        # '  Alice@Example.COM ' trimmed and lower-cased; +02:00 converted to UTC; 'Completed' lower-cased
        ("o1", "c1", "alice@example.com", "completed", Decimal("10.5"), dt.datetime(2024, 3, 1, 8, 0)),
        # two rows for o2: the later one (returned three days after) wins; empty customer_id is NULL
        ("o2", None, "bob@example.com", "returned", Decimal("20"), dt.datetime(2024, 3, 5, 9, 0)),
        # 'Z' suffix is UTC
        ("o3", "c3", "carol@example.com", "cancelled", Decimal("0"), dt.datetime(2024, 3, 3, 12, 0)),
    ]


def test_sessions_keep_the_earliest_duplicate_and_fill_unknown_values(staging_fixture_db):
    rows = dict(
        (row[0], row[1:])
        for row in query(
            staging_fixture_db,
            "select session_id, email, device, channel, started_at, ended_at from staging.stg_shop__sessions",
        )
    )
    assert set(rows) == {"s1", "s2", "s16"}
    # s2 appears twice; the earlier start wins; an empty end is the start
    assert rows["s2"] == (
        "alice@example.com",
        "mobile",
        "organic",
        dt.datetime(2024, 3, 1, 7, 50),
        dt.datetime(2024, 3, 1, 7, 50),
    )
    assert rows["s1"][1:3] == ("mobile", "email")
    # empty device/channel become 'unknown'; an end before the start is taken as the start
    assert rows["s16"] == (None, "unknown", "unknown", dt.datetime(2024, 3, 1, 9, 0), dt.datetime(2024, 3, 1, 9, 0))


def test_signups_and_email_events_are_normalised(staging_fixture_db):
    assert query(
        staging_fixture_db,
        "select email, signup_source from staging.stg_shop__newsletter_signups where signup_id = 'n1'",
    ) == [("zoe@example.com", "newsletter")]
    assert query(
        staging_fixture_db,
        "select signup_source, unsubscribed_at from staging.stg_shop__newsletter_signups where signup_id = 'n9'",
    ) == [("unknown", dt.datetime(2024, 2, 1))]
    assert query(
        staging_fixture_db,
        "select email, event_type, occurred_at from staging.stg_shop__email_events where event_id = 'e1'",
    ) == [("alice@example.com", "delivered", dt.datetime(2024, 2, 1, 10, 0))]


def test_quarantine_keeps_raw_text_source_and_load_time(staging_fixture_db):
    [(source_name, email, amount, quarantined_at)] = query(
        staging_fixture_db,
        "select source_name, email, amount, quarantined_at from quarantine.quarantine_shop__orders "
        "where order_id = 'o10'",
    )
    assert (source_name, email, amount) == ("orders", "ivy@example.com", "abc")
    assert quarantined_at is not None
    summary = dict(((s, r), n) for s, r, n in query(staging_fixture_db, "select * from quarantine.quarantine_summary"))
    assert summary[("orders", "invalid_email")] == 2
    assert sum(summary.values()) == sum(len(v) for v in EXPECTED_QUARANTINE.values())


def test_only_rows_with_a_defect_keep_raw_text_and_a_duplicate_shows_its_cleaned_values(staging_fixture_db):
    [(usable_with_raw_text,)] = query(
        staging_fixture_db,
        "select count(*) from staging.base_shop__sessions where row_defect is null and raw_session_id is not null",
    )
    assert usable_with_raw_text == 0
    # s2's later copy (09:50Z) loses to the earlier one: its values come back cleaned (lower-cased email, the
    # ISO text with its 'Z' as a UTC timestamp), not as delivered.
    [(email, started_at, device, page_views)] = query(
        staging_fixture_db,
        "select email, started_at, device, page_views from quarantine.quarantine_shop__sessions "
        "where session_id = 's2'",
    )
    assert (email, started_at, device, page_views) == ("alice@example.com", "2024-03-01 09:50:00", "mobile", "5")


def _copy_fixture(tmp_path: Path) -> Path:
    raw_dir = tmp_path / "raw"
    shutil.copytree(FIXTURES / "staging_raw", raw_dir)
    return raw_dir


def test_missing_required_column_fails_fast_naming_file_and_column(tmp_path):
    raw_dir = _copy_fixture(tmp_path)
    table = pacsv.read_csv(raw_dir / "orders.csv", convert_options=pacsv.ConvertOptions(strings_can_be_null=True))
    pacsv.write_csv(table.drop_columns(["amount"]), raw_dir / "orders.csv")
    database = tmp_path / "warehouse.duckdb"
    result = run_dbt(["build", "--select", "staging"], raw_dir, database, check=False)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert str(raw_dir / "orders.csv") in output
    assert "missing required column 'amount'" in output
    # fails before any model runs
    assert "OK created" not in output


def test_missing_dataset_names_the_folder(tmp_path):
    raw_dir = _copy_fixture(tmp_path)
    (raw_dir / "email_events.csv").unlink()
    result = run_dbt(["build", "--select", "staging"], raw_dir, tmp_path / "w.duckdb", check=False)
    assert result.returncode != 0
    assert "Raw dataset 'email_events' not found" in result.stdout
    assert str(raw_dir) in result.stdout


def test_parquet_is_read_like_csv_and_wins_over_it(tmp_path):
    raw_dir = _copy_fixture(tmp_path)
    for source in SOURCES:
        csv_path = raw_dir / f"{source}.csv"
        with open(csv_path, newline="") as handle:
            columns = next(csv.reader(handle))
        table = pacsv.read_csv(
            csv_path,
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in columns}, strings_can_be_null=True
            ),
        )
        pq.write_table(table, raw_dir / f"{source}.parquet")
    # A CSV that would fail must be ignored because the Parquet file exists.
    (raw_dir / "orders.csv").write_text("order_id\nbroken\n")
    database = tmp_path / "warehouse.duckdb"
    run_dbt(["build", "--select", "staging"], raw_dir, database)
    assert query(database, "select count(*) from staging.stg_shop__orders") == [(3,)]
    assert (
        set(query(database, "select order_id, quarantine_reason from quarantine.quarantine_shop__orders"))
        == (EXPECTED_QUARANTINE["orders"])
    )


def _split_into_folders(raw_dir: Path) -> None:
    """Turn each NAME.csv into a folder NAME/ of two CSV files (first half, second half of the rows)."""
    for source in SOURCES:
        lines = (raw_dir / f"{source}.csv").read_text().splitlines(keepends=True)
        (raw_dir / f"{source}.csv").unlink()
        (raw_dir / source).mkdir()
        middle = 1 + (len(lines) - 1) // 2
        (raw_dir / source / "part-1.csv").write_text("".join(lines[:middle]))
        (raw_dir / source / "part-2.csv").write_text(lines[0] + "".join(lines[middle:]))


def test_a_folder_of_files_is_read_like_one_file(tmp_path):
    raw_dir = _copy_fixture(tmp_path)
    _split_into_folders(raw_dir)
    database = tmp_path / "warehouse.duckdb"
    run_dbt(["build", "--select", "staging"], raw_dir, database)
    for source, id_column in SOURCES.items():
        rows = query(database, f"select {id_column}, quarantine_reason from quarantine.quarantine_shop__{source}")
        assert sorted(rows, key=str) == sorted(EXPECTED_QUARANTINE[source], key=str), source
    # each row knows its file; o1 is in the first half of the orders, o11 in the second
    assert query(
        database,
        "select order_id, _source_file from staging.base_shop__orders where order_id in ('o1', 'o11') order by 1",
    ) == [("o1", "part-1.csv"), ("o11", "part-2.csv")]


def test_a_folder_file_without_a_required_column_fails_naming_the_file(tmp_path):
    raw_dir = _copy_fixture(tmp_path)
    _split_into_folders(raw_dir)
    second = raw_dir / "orders" / "part-2.csv"
    second.write_text(second.read_text().replace("order_id,customer_id", "order_id,client_id", 1))
    result = run_dbt(["build", "--select", "staging"], raw_dir, tmp_path / "w.duckdb", check=False)
    assert result.returncode != 0
    assert f"Raw file {second} is missing required column 'customer_id'" in result.stdout
    assert "OK created" not in result.stdout


def test_a_dataset_both_file_and_folder_is_refused(tmp_path):
    raw_dir = _copy_fixture(tmp_path)
    (raw_dir / "sessions").mkdir()
    shutil.copy(raw_dir / "sessions.csv", raw_dir / "sessions" / "part-1.csv")
    result = run_dbt(["build", "--select", "staging"], raw_dir, tmp_path / "w.duckdb", check=False)
    assert result.returncode != 0
    assert "Raw dataset 'sessions' is both a file (sessions.csv) and a folder (sessions/)" in result.stdout


def test_ties_on_the_contract_timestamp_go_to_the_later_file_then_the_row_values(tmp_path):
    raw_dir = _copy_fixture(tmp_path)
    header = (raw_dir / "orders.csv").read_text().splitlines()[0]
    (raw_dir / "orders.csv").unlink()
    (raw_dir / "orders").mkdir()
    t1_completed = ["t1", "c1", "a@example.com", "2024-03-01T11:00:00", "completed", "10"]
    t1_returned = ["t1", "c1", "a@example.com", "2024-03-01T11:00:00", "returned", "10"]
    # r1 twice with the same ordered_at, in two files: the later file's row wins, although its values sort after
    # the earlier one's ('returned' > 'completed'), so the file decides before the values.
    (raw_dir / "orders" / "2024-03-01.csv").write_text(
        f"{header}\nr1,c1,a@example.com,2024-03-01T10:00:00,completed,10,x\n"
        + "".join(",".join(row) + ",x\n" for row in (t1_returned, t1_completed))
    )
    (raw_dir / "orders" / "2024-03-02.csv").write_text(
        f"{header}\nr1,c1,a@example.com,2024-03-01T10:00:00,returned,10,x\n"
    )
    database = tmp_path / "warehouse.duckdb"
    run_dbt(["build", "--select", "staging"], raw_dir, database)
    # t1 twice with the same ordered_at in one file: the row whose values come first (customer_id, email, status,
    # amount) wins: 'completed' < 'returned', although the returned row comes first in the file.
    assert query(database, "select order_id, status from staging.stg_shop__orders order by 1") == [
        ("r1", "returned"),
        ("t1", "completed"),
    ]
    assert query(
        database,
        "select order_id, status, source_file from quarantine.quarantine_shop__orders "
        "where quarantine_reason = 'duplicate_order_id' order by 1",
    ) == [
        ("r1", "completed", "2024-03-01.csv"),
        ("t1", "returned", "2024-03-01.csv"),
    ]
