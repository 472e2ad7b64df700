"""The driver's input checks, called directly (no dbt): fast feedback on the contract rules."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from lifecycle_pipeline.errors import InputError  # noqa: E402
from lifecycle_pipeline.inputs import check_raw_dir, parse_as_of, raw_bytes, required_columns  # noqa: E402


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


def _folder(raw: Path, dataset: str, files: dict[str, str]) -> Path:
    """Replace the dataset's file by a folder of CSV files (name -> header line)."""
    (raw / f"{dataset}.csv").unlink()
    folder = raw / dataset
    folder.mkdir()
    for name, header in files.items():
        _write_csv(folder / name, header)
    return folder


def test_a_dataset_may_be_a_folder_of_files(tmp_path):
    raw = _minimal_raw(tmp_path / "raw")
    header = ",".join(required_columns()["orders"])
    folder = _folder(raw, "orders", {"2024-03-02.csv": header, "2024-03-01.csv": header + ",coupon"})
    (folder / "_SUCCESS").write_text("")  # an EL tool's marker file is ignored
    orders = check_raw_dir(raw)[0]
    assert orders.path == folder
    assert [f.name for f in orders.files] == ["2024-03-01.csv", "2024-03-02.csv"]
    assert "coupon" in orders.columns


def test_raw_bytes_counts_single_files_and_every_file_of_a_folder(tmp_path):
    raw = _minimal_raw(tmp_path / "raw")
    header = ",".join(required_columns()["orders"])
    folder = _folder(raw, "orders", {"2024-03-01.csv": header, "2024-03-02.csv": header})
    (folder / "_SUCCESS").write_text("marker, not data")  # not a raw file: not counted
    expected = sum(p.stat().st_size for p in raw.glob("*.csv")) + 2 * (len(header) + 1)
    assert raw_bytes(check_raw_dir(raw)) == expected


def test_every_file_of_a_folder_needs_every_required_column(tmp_path):
    raw = _minimal_raw(tmp_path / "raw")
    header = ",".join(required_columns()["sessions"])
    _folder(raw, "sessions", {"part-0.csv": header, "part-1.csv": header.replace("cart_value", "basket_value")})
    with pytest.raises(InputError) as error:
        check_raw_dir(raw)
    message = str(error.value)
    assert "part-1.csv" in message and "'cart_value'" in message
    assert "part-0.csv" not in message


def test_folder_parquet_files_are_checked_too(tmp_path):
    raw = _minimal_raw(tmp_path / "raw")
    folder = _folder(raw, "email_events", {})
    columns = required_columns()["email_events"]
    pq.write_table(pa.table({c: ["x"] for c in columns}), folder / "a.parquet")
    pq.write_table(pa.table({c: ["x"] for c in columns if c != "occurred_at"}), folder / "b.parquet")
    with pytest.raises(InputError, match=r"b\.parquet is missing required column\(s\) 'occurred_at'"):
        check_raw_dir(raw)


@pytest.mark.parametrize(
    ("layout", "expected"),
    [
        ("empty", "holds no .parquet or .csv files"),
        ("mixed", "mixes .parquet and .csv files"),
        ("file_and_folder", "is both a file (newsletter_signups.csv) and a folder"),
    ],
)
def test_unusable_folders_are_clear_errors(tmp_path, layout, expected):
    raw = _minimal_raw(tmp_path / "raw")
    header = ",".join(required_columns()["newsletter_signups"])
    if layout == "file_and_folder":
        (raw / "newsletter_signups").mkdir()
        _write_csv(raw / "newsletter_signups" / "a.csv", header)
    else:
        folder = _folder(raw, "newsletter_signups", {} if layout == "empty" else {"a.csv": header})
        if layout == "mixed":
            pq.write_table(pa.table({c: ["x"] for c in required_columns()["newsletter_signups"]}), folder / "b.parquet")
    with pytest.raises(InputError, match=re.escape(expected)):
        check_raw_dir(raw)


def test_a_forced_format_must_match_the_folder(tmp_path):
    raw = _minimal_raw(tmp_path / "raw")
    _folder(raw, "orders", {"a.csv": ",".join(required_columns()["orders"])})
    with pytest.raises(InputError, match="holds .csv files, but the raw format is forced to parquet"):
        check_raw_dir(raw, "parquet")
