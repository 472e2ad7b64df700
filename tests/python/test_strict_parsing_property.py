"""Property: every raw CSV record is staged with the values an independent parse of its text gives, or quarantined
with its raw text and the reason that parse names; nothing else happens to it (docs/raw-data-contract.md "Strict
parsing").

Hypothesis writes orders.csv from random records mixing valid and invalid values (quoted commas, quotes and line
breaks, hidden characters in emails, special timestamp words, exponents and separators in amounts) and records
with a field too many or too few. dbt lands them; the expectation comes from Python alone: the records from the
`csv` module, each value by the contract's rules written again here (Python's datetime and Decimal, Unicode
categories from `unicodedata`). One dbt build per example and few examples, so the test stays cheap.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import unicodedata
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pytest
from dbt_harness import query, run_dbt
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lifecycle_pipeline.csv_files import check_csv_file

HEADER = ["order_id", "customer_id", "email", "ordered_at", "status", "amount"]
OTHER_HEADERS = {
    "sessions": "session_id,visitor_id,customer_id,email,started_at,ended_at,device,channel,page_views,cart_adds,"
    "cart_value,order_id",
    "newsletter_signups": "signup_id,email,signed_up_at,source,unsubscribed_at",
    "email_events": "event_id,email,campaign_id,event_type,occurred_at",
}
EARLIEST = dt.datetime(1990, 1, 1)
MAX_AMOUNT = Decimal(1_000_000)
STAGED = ["order_id", "customer_id", "email", "status", "amount", "ordered_at"]  # stg_shop__orders
SELECT = ["--select", "+stg_shop__orders", "+quarantine_shop__orders"]

# --- values, valid and not --------------------------------------------------------------------------------------
HIDDEN = ["\u200b", "\u200d", "\u00ad", "\ufeff", "\x00", "\t", "\x7f", " ", "\u00a0", "\u2028"]
local_parts = st.text(alphabet="abcXYZ019._+-", min_size=1, max_size=8)
domains = st.sampled_from(["example.com", "EXAMPLE.org", "b.co", "bücher.de", "localhost", "example.", ".com", "a.b.c"])
emails = st.one_of(
    st.builds(lambda local, domain: f"{local}@{domain}", local_parts, domains),
    st.builds(
        lambda local, domain, pad: f"{pad}{local}@{domain}{pad}",
        local_parts,
        domains,
        st.sampled_from([" ", "  ", "\u00a0", "\u3000"]),
    ),  # fmt: skip
    st.builds(lambda local, hidden, domain: f"{local}{hidden}@{domain}", local_parts, st.sampled_from(HIDDEN), domains),
    st.sampled_from(["", "   ", "no-at-sign", "a@b@example.com", "@example.com", "ann@", "a,b@example.com"]),
)
datetimes = st.datetimes(min_value=dt.datetime(1980, 1, 1), max_value=dt.datetime(2030, 12, 31))
offsets = st.sampled_from(["", "Z", "+02:00", "-05:30", "+00:00"])
timestamps = st.one_of(
    st.builds(lambda moment, sep, fraction, offset: moment.strftime(f"%Y-%m-%d{sep}%H:%M:%S")
              + (f".{moment.microsecond:06d}"[: fraction + 1] if fraction else "") + offset,
              datetimes, st.sampled_from(["T", " "]), st.integers(0, 6), offsets),  # fmt: skip
    st.builds(lambda moment: moment.strftime("%Y-%m-%d"), datetimes),
    st.sampled_from(["epoch", "infinity", "-infinity", "now", "today", "yesterday", "tomorrow", "allballs", "",
                     "2024/03/01 10:00:00", "2024-13-01", "2023-02-29", "2024-03-32 10:00:00", "2999-01-01",
                     "1989-12-31 23:59:59", " 2024-03-01 10:00:00 "]),
)  # fmt: skip
statuses = st.sampled_from(["completed", " Completed ", "RETURNED", "cancelled", "refunded", "", "comp leted"])
plain_numbers = st.builds(
    lambda sign, whole, fraction, exponent: f"{sign}{whole}{fraction}{exponent}",
    st.sampled_from(["", "", "-", "+"]),
    st.integers(0, 2_000_000).map(str),
    st.one_of(st.just(""), st.integers(0, 99_999_999).map(lambda n: f".{n}")),
    st.sampled_from(["", "", "", "e2", "E-3", "e+1", "e20", "e-7"]),
)
amounts = st.one_of(
    plain_numbers,
    st.sampled_from(["1_000", "1,234.56", "NaN", "Infinity", "-inf", "$5", "5€", ".5", "5.", "0x10", "1e", "", " 7 ",
                     "1 000", "١٢٣"]),
)  # fmt: skip
customer_suffixes = st.text(alphabet='ab ,"\n\r;', max_size=6)


@st.composite
def records(draw, index: int) -> list[str]:
    """One record's fields: an order, perhaps with a field too many or too few."""
    order_id = draw(st.sampled_from([f"p{index}", f" p{index} ", ""]))
    # customer_id carries the record's number, so that rows can be found whatever else is wrong with them
    customer_id = f"k{index}|" + draw(customer_suffixes)
    fields = [order_id, customer_id, draw(emails), draw(timestamps), draw(statuses), draw(amounts)]
    shape = draw(st.sampled_from(["same"] * 8 + ["more", "fewer"]))
    if shape == "more":
        fields.append(draw(st.sampled_from(["234.56", "", "x,y"])))
    elif shape == "fewer":
        fields = fields[: draw(st.integers(2, 5))]
    return fields


@st.composite
def order_files(draw) -> tuple[list[list[str]], str]:
    count = draw(st.integers(40, 120))
    rows = [draw(records(index)) for index in range(count)]
    return rows, draw(st.sampled_from(["\n", "\r\n"]))


# --- the independent parse --------------------------------------------------------------------------------------
def trim(text: str) -> str:
    """What SQL trim() removes: space separators (Unicode category Zs) at both ends."""
    start, end = 0, len(text)
    while start < end and unicodedata.category(text[start]) == "Zs":
        start += 1
    while end > start and unicodedata.category(text[end - 1]) == "Zs":
        end -= 1
    return text[start:end]


def timestamp(text: str) -> dt.datetime | None:
    text = trim(text)
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:\d{2})?", text):
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment.astimezone(dt.UTC).replace(tzinfo=None) if moment.tzinfo else moment


def valid_email(email: str) -> bool:
    if email.count("@") != 1:
        return False
    local, domain = email.split("@")
    hidden = any(unicodedata.category(c)[0] == "Z" or unicodedata.category(c) in ("Cc", "Cf") for c in email)
    return bool(local) and "." in domain[1:-1] and not hidden


def as_read(fields: list[str]) -> list[str]:
    """The record's fields as the contract reads them: empty fields after the header's last one (a line ending in
    extra commas) hold nothing and are ignored."""
    if len(fields) > len(HEADER) and not any(fields[len(HEADER) :]):
        return fields[: len(HEADER)]
    return fields


def expected(fields: list[str], now: dt.datetime) -> tuple[str, dict | str]:
    """('staged', typed values) or ('quarantined', reason), by the contract's rules in the contract's order."""
    fields = as_read(fields)
    if len(fields) != len(HEADER):
        return "quarantined", "wrong_field_count"
    order_id, customer_id, email, ordered_at, status, amount = fields
    email = trim(email).lower()
    moment = timestamp(ordered_at)
    text = trim(amount)
    plain = re.fullmatch(r"[+-]?[0-9]+([.][0-9]+)?([eE][+-]?[0-9]+)?", text)
    number = Decimal(text) if plain else None
    # beyond what numeric(28, 6) holds (22 digits before the point): implausible whatever its decimals
    huge = number is not None and abs(number) >= Decimal("1e22")
    try:
        exact = huge or (number is not None and number == number.quantize(Decimal("0.000001")))
    except InvalidOperation:
        exact = False
    checks = [
        (not trim(order_id), "missing_order_id"),
        (not email, "missing_email"),
        (lambda: not valid_email(email), "invalid_email"),
        (lambda: moment is None, "invalid_ordered_at"),
        (lambda: moment < EARLIEST, "implausible_ordered_at"),
        (lambda: moment > now + dt.timedelta(hours=24), "future_ordered_at"),
        (lambda: trim(status).lower() not in ("completed", "returned", "cancelled"), "invalid_status"),
        (not text, "invalid_amount"),
        (lambda: not plain, "invalid_amount"),
        (lambda: not exact, "invalid_amount"),
        (lambda: huge or number > MAX_AMOUNT, "implausible_amount"),
        (lambda: number < 0, "negative_amount"),
    ]
    for failed, reason in checks:
        if failed() if callable(failed) else failed:
            return "quarantined", reason
    return "staged", {
        "order_id": trim(order_id),
        "customer_id": trim(customer_id) or None,
        "email": email,
        "status": trim(status).lower(),
        "amount": number,
        "ordered_at": moment,
    }


def write_raw(raw_dir: Path, rows: list[list[str]], line_break: str) -> list[str]:
    """orders.csv with these records (and header-only files for the other datasets); returns each record's text."""
    raw_dir.mkdir()
    texts = []
    for fields in rows:
        buffer = io.StringIO()
        # the writer quotes a field holding a character of its line terminator: CRLF, so that both CR and LF are
        csv.writer(buffer, lineterminator="\r\n").writerow(fields)
        texts.append(buffer.getvalue()[:-2])
    body = line_break.join([",".join(HEADER), *texts]) + line_break
    (raw_dir / "orders.csv").write_bytes(body.encode())
    for dataset, header in OTHER_HEADERS.items():
        (raw_dir / f"{dataset}.csv").write_text(header + "\n")
    return texts


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    return tmp_path_factory.mktemp("strict_property")


@settings(
    max_examples=2,
    deadline=None,
    database=None,
    phases=[Phase.generate],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(order_files())
def test_every_record_is_staged_as_parsed_or_quarantined_with_its_text(workdir, data):
    rows, line_break = data
    example = workdir / f"example-{len(list(workdir.iterdir()))}"
    example.mkdir()
    texts = write_raw(example / "raw", rows, line_break)
    check_csv_file(example / "raw" / "orders.csv")  # what the driver checks before dbt
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    run_dbt(["build", *SELECT], example / "raw", example / "warehouse.duckdb")

    # records, counted by Python's csv module (a record is a non-empty row)
    with open(example / "raw" / "orders.csv", newline="", encoding="utf-8") as handle:
        parsed = [fields for fields in csv.reader(handle) if fields][1:]
    assert parsed == rows

    database = example / "warehouse.duckdb"
    staged = {row[1]: row for row in query(database, "select * from staging.stg_shop__orders")}
    columns = [name for name, *_ in query(database, "describe quarantine.quarantine_shop__orders")]
    quarantined = [
        dict(zip(columns, row, strict=True))
        for row in query(database, "select * from quarantine.quarantine_shop__orders")
    ]
    assert len(staged) + len(quarantined) == len(parsed)
    by_customer = {row["customer_id"].split("|")[0]: row for row in quarantined if row["customer_id"] is not None}
    by_record = {row["raw_record"]: row for row in quarantined if row["raw_record"] is not None}
    staged_by_key = {customer.split("|")[0]: row for customer, row in staged.items()}

    for index, (fields, text) in enumerate(zip(rows, texts, strict=True)):
        outcome, detail = expected(fields, now)
        key = f"k{index}"
        if outcome == "staged":
            row = staged_by_key.get(key)
            assert row is not None, (fields, by_customer.get(key))
            assert dict(zip(STAGED, row, strict=True)) == detail, fields
        elif detail == "wrong_field_count":
            row = by_record.get(text)
            assert row is not None and row["quarantine_reason"] == "wrong_field_count", (fields, text)
            assert key not in staged_by_key
        else:
            row = by_customer.get(key)
            assert row is not None, (fields, staged_by_key.get(key))
            assert row["quarantine_reason"] == detail, fields
            # the raw text, as written (an empty field is NULL)
            raw = {name: row[name] for name in HEADER}
            assert raw == {name: value or None for name, value in zip(HEADER, as_read(fields), strict=True)}, fields
