"""The BTYD columns of customer_lifecycle equal lifetimes' summary_data_from_transaction_data (freq "D").

Transactions are generated (fixed seed) with several orders on one day, returned / cancelled orders, mixed-case
emails and orders after the as-of date, written as a raw folder and built with dbt; lifetimes gets the completed
orders keyed by the normalised email.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from pathlib import Path

import pandas as pd
import pytest
from dbt_harness import query, run_dbt
from lifetimes.utils import summary_data_from_transaction_data

AS_OF = dt.date(2025, 6, 30)
HEADERS = {
    "sessions": "session_id,visitor_id,customer_id,email,started_at,ended_at,device,channel,page_views,cart_adds,"
    "cart_value,order_id",
    "newsletter_signups": "signup_id,email,signed_up_at,source,unsubscribed_at",
    "email_events": "event_id,email,campaign_id,event_type,occurred_at",
}


def generate_orders(seed: int = 7, customers: int = 60) -> list[dict]:
    rng = random.Random(seed)
    start = dt.datetime(2024, 1, 1)
    orders = []
    for c in range(customers):
        email = f"buyer{c:03d}@btyd.test"
        moment = start + dt.timedelta(days=rng.randint(0, 500), hours=rng.randint(0, 23))
        for _ in range(rng.choice([1, 1, 2, 3, 5, 8])):
            status = rng.choices(["completed", "returned", "cancelled"], weights=[8, 1, 1])[0]
            typed_email = email.upper() if rng.random() < 0.2 else email  # staging normalises the case
            orders.append({"email": typed_email, "ordered_at": moment, "status": status, "amount": rng.randint(5, 300)})
            # next order: sometimes the same day, sometimes weeks later (some land after the as-of date)
            moment += (
                dt.timedelta(hours=rng.randint(1, 6)) if rng.random() < 0.25 else dt.timedelta(days=rng.randint(3, 90))
            )
    return orders


@pytest.fixture(scope="module")
def btyd(tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    raw = tmp_path_factory.mktemp("btyd_raw")
    orders = generate_orders()
    with open(raw / "orders.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["order_id", "customer_id", "email", "ordered_at", "status", "amount"])
        for i, o in enumerate(orders):
            writer.writerow([f"o{i}", "", o["email"], o["ordered_at"].isoformat(), o["status"], o["amount"]])
    for name, header in HEADERS.items():
        Path(raw / f"{name}.csv").write_text(header + "\n")
    database = raw.parent / "btyd.duckdb"
    run_dbt(["run", "--select", "+customer_lifecycle"], raw, database, {"as_of_date": AS_OF.isoformat()})

    rows = query(
        database,
        """
        select identity.email, lifecycle.frequency, lifecycle.recency_days, lifecycle.tenure_days,
            lifecycle.avg_repeat_order_value
        from marts.customer_lifecycle as lifecycle
        inner join intermediate.int_persons__identified as identity
            on lifecycle.customer_key = identity.customer_key
        where lifecycle.purchase_days is not null
        """,
    )
    ours = pd.DataFrame(rows, columns=["email", "frequency", "recency", "T", "monetary_value"]).set_index("email")

    transactions = pd.DataFrame(orders)
    transactions = transactions[transactions["status"] == "completed"].assign(email=lambda t: t["email"].str.lower())
    theirs = summary_data_from_transaction_data(
        transactions,
        "email",
        "ordered_at",
        monetary_value_col="amount",
        observation_period_end=pd.Timestamp(AS_OF),
        freq="D",
    )
    return ours.sort_index(), theirs.sort_index()


def test_generated_data_covers_the_tricky_cases(btyd):
    orders = generate_orders()
    days = [(o["email"].lower(), o["ordered_at"].date()) for o in orders if o["status"] == "completed"]
    assert len(days) > len(set(days)), "some buyer should have several completed orders on one day"
    assert any(o["ordered_at"].date() > AS_OF for o in orders), "some orders should fall after the as-of date"
    assert any(o["status"] != "completed" for o in orders)
    ours, _ = btyd
    assert len(ours) > 40 and (ours["frequency"] > 0).sum() > 20


def test_same_buyers_as_lifetimes(btyd):
    ours, theirs = btyd
    assert list(ours.index) == list(theirs.index)


@pytest.mark.parametrize("column", ["frequency", "recency", "T", "monetary_value"])
def test_btyd_column_equals_lifetimes(btyd, column):
    ours, theirs = btyd
    pd.testing.assert_series_equal(
        ours[column].astype(float), theirs[column].astype(float), check_names=False, rtol=1e-9
    )
