"""The driver's input checks, called directly (no dbt): fast feedback on the contract rules."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lifecycle_pipeline.errors import InputError  # noqa: E402
from lifecycle_pipeline.inputs import check_raw_dir, parse_as_of, required_columns  # noqa: E402


def test_required_columns_come_from_the_source_definition():
    # Hand-copied from docs/raw-data-contract.md: every contract column is required.
    assert required_columns() == {
        "orders": ["order_id", "customer_id", "email", "ordered_at", "status", "amount"],
        "sessions": [
            "session_id", "visitor_id", "customer_id", "email", "started_at", "ended_at", "device", "channel",
            "page_views", "cart_adds", "cart_value", "order_id",
        ],
        "newsletter_signups": ["signup_id", "email", "signed_up_at", "source", "unsubscribed_at"],
        "email_events": ["event_id", "email", "campaign_id", "event_type", "occurred_at"],
    }  # fmt: skip


def test_parse_as_of():
    assert parse_as_of(None) is None
    assert parse_as_of(" 2024-02-29 ") == dt.date(2024, 2, 29)
    with pytest.raises(InputError, match="2023-02-29"):
        parse_as_of("2023-02-29")


def _write_csv(path: Path, header: str) -> None:
    path.write_text(header + "\n", encoding="utf-8")


def _minimal_raw(folder: Path) -> Path:
    folder.mkdir()
    for dataset, columns in required_columns().items():
        _write_csv(folder / f"{dataset}.csv", ",".join(columns))
    return folder


def test_header_case_and_spaces_do_not_matter_and_extra_columns_are_ignored(tmp_path):
    raw = _minimal_raw(tmp_path / "raw")
    _write_csv(raw / "orders.csv", "Order_ID, customer_id ,EMAIL,ordered_at,status,amount,coupon")
    assert [f.path.name for f in check_raw_dir(raw)] == [
        "orders.csv",
        "sessions.csv",
        "newsletter_signups.csv",
        "email_events.csv",
    ]


def test_parquet_wins_over_csv_and_its_columns_are_checked(tmp_path):
    raw = _minimal_raw(tmp_path / "raw")
    pq.write_table(pa.table({"order_id": ["o1"], "email": ["a@b.c"]}), raw / "orders.parquet")
    with pytest.raises(InputError) as error:
        check_raw_dir(raw)
    message = str(error.value)
    assert "orders.parquet" in message
    assert "'customer_id', 'ordered_at', 'status', 'amount'" in message
    # Forcing CSV reads the (complete) CSV file instead.
    assert check_raw_dir(raw, "csv")[0].path.name == "orders.csv"


def test_missing_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        check_raw_dir(tmp_path / "nowhere")
