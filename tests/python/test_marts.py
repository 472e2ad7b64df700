"""Lifecycle marts on hand-made raw fixtures; every expected value below was worked out by hand from the CSVs.

fixtures/lifecycle_raw (as of 2025-06-30, so the as-of date ends at 2025-07-01 00:00 UTC):
  repeat buyers' first-to-second purchase-day gaps: p77/p78/p141 70, sameday 20, mixed.case 40, repl 30
  -> population median 55 = the expected interval of every one-time buyer.
fixtures/rfm_raw: 10 buyers with hand-picked recency / order count / revenue (see test_rfm_scores_*); each order
  is on a day of its own, so F (purchase days) equals the order count.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest
from conftest import FIXTURES
from dbt_harness import WITHOUT_PREDICTION, person_key, query, run_dbt

AS_OF = "2025-06-30"


def _build(tmp_path_factory, name: str, raw: str, dbt_vars: dict | None) -> Path:
    database = tmp_path_factory.mktemp(name) / "warehouse.duckdb"
    # `build` also runs every schema and singular test on the fixture (one stage per person, totals, ...).
    run_dbt(["build"], FIXTURES / raw, database, {**WITHOUT_PREDICTION, **(dbt_vars or {})})
    return database


@pytest.fixture(scope="module")
def lifecycle_db(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "lifecycle", "lifecycle_raw", {"as_of_date": AS_OF})


@pytest.fixture(scope="module")
def rfm_db(tmp_path_factory) -> Path:
    return _build(tmp_path_factory, "rfm", "rfm_raw", {"as_of_date": AS_OF})


def persons(database: Path) -> dict[str, dict]:
    """customer_lifecycle rows keyed by email (int_persons__identified holds the email of each customer_key)."""
    sql = """
        select identity.email, lifecycle.*
        from marts.customer_lifecycle as lifecycle
        inner join intermediate.int_persons__identified as identity
            on lifecycle.customer_key = identity.customer_key
    """
    with duckdb.connect(str(database), read_only=True) as con:
        cursor = con.execute(sql)
        names = [c[0] for c in cursor.description]
        return {row[0]: dict(zip(names, row, strict=True)) for row in cursor.fetchall()}


def d(text: str) -> dt.date:
    return dt.date.fromisoformat(text)


# --- persons and identity ---------------------------------------------------------------------------------

KNOWN_PERSONS = {
    "p77@shop.test", "p78@shop.test", "p141@shop.test", "sameday@shop.test", "mixed.case@shop.test",
    "repl@shop.test", "once30@shop.test", "once80@shop.test", "returner@shop.test", "onlyreturn@shop.test",
    "later@shop.test", "first@shop.test", "second@shop.test", "cartbuy@shop.test", "cartlate@shop.test",
    "stitch@shop.test", "cold@shop.test", "warm90@shop.test", "cold91@shop.test", "news@shop.test",
    "cart30@shop.test", "cart50@shop.test",
}  # fmt: skip


def test_known_persons_are_exactly_the_expected_emails(lifecycle_db):
    # future@ signed up after the as-of date; stranger@ only received an email; bad@'s order is quarantined.
    assert set(persons(lifecycle_db)) == KNOWN_PERSONS


def test_customer_key_is_the_person_key_of_the_normalised_email(lifecycle_db):
    rows = persons(lifecycle_db)
    # md5("mixed.case@shop.test") = ff29ddbd632f761cc68d…; the key is its first 15 hex digits as a number
    assert person_key("mixed.case@shop.test") == 0xFF29DDBD632F761 == 1149154422449960801
    assert rows["mixed.case@shop.test"]["customer_key"] == person_key("mixed.case@shop.test")


def test_mixed_case_emails_on_different_orders_are_one_person(lifecycle_db):
    person = persons(lifecycle_db)["mixed.case@shop.test"]
    assert (person["order_count"], person["purchase_days"], float(person["net_revenue"])) == (2, 2, 100.0)
    assert person["median_interval_days"] == 40.0


def test_anonymous_session_is_stitched_after_a_later_login(lifecycle_db):
    rows = query(
        lifecycle_db,
        """
        select sessions.session_id, identity.email, sessions.attributed_by, sessions.is_stitched
        from intermediate.int_sessions__attributed as sessions
        left join intermediate.int_persons__identified as identity
            on sessions.customer_key = identity.customer_key
        order by sessions.session_id
        """,
    )
    by_session = {r[0]: r[1:] for r in rows}
    assert by_session["s1"] == ("stitch@shop.test", "visitor_id", True)  # anonymous, before the login
    assert by_session["s2"] == ("stitch@shop.test", "email", False)
    assert by_session["s3"] == ("p77@shop.test", "customer_id", False)  # account c77 from p77's orders
    assert by_session["s4"] == ("first@shop.test", "customer_id", False)  # c_shared: earliest email wins
    assert by_session["s5"] == (None, None, False)  # never identified
    assert "s10" not in by_session  # after the as-of date
    stitch = persons(lifecycle_db)["stitch@shop.test"]
    assert (stitch["sessions"], stitch["stitched_sessions"], stitch["main_device"]) == (2, 1, "mobile")
    assert stitch["lifecycle_stage"] == "prospect"


# --- purchases and facts ----------------------------------------------------------------------------------


def test_several_orders_on_one_day_are_one_purchase_day(lifecycle_db):
    p = persons(lifecycle_db)["sameday@shop.test"]
    # 06-01: 10 + 20 (one day), 06-21: 5
    assert (p["order_count"], p["purchase_days"], p["frequency"]) == (3, 2, 1)
    assert (p["recency_days"], p["tenure_days"], p["days_since_last_order"]) == (20, 29, 9)
    assert p["avg_repeat_order_value"] == 5.0
    assert float(p["net_revenue"]) == 35.0
    assert p["avg_order_value"] == pytest.approx(35 / 3)
    assert (p["avg_interval_days"], p["median_interval_days"], p["stddev_interval_days"]) == (20.0, 20.0, 0.0)
    assert p["expected_next_order_date"] == d("2025-07-11")
    assert p["lifecycle_stage"] == "repeat"


def test_returned_and_cancelled_orders_are_not_purchases(lifecycle_db):
    rows = persons(lifecycle_db)
    returner = rows["returner@shop.test"]
    assert (returner["order_count"], returner["purchase_days"], float(returner["net_revenue"])) == (1, 1, 50.0)
    assert returner["valid_orders"] == 3
    assert returner["return_rate"] == pytest.approx(2 / 3)
    assert returner["is_dissatisfied"] is True
    only = rows["onlyreturn@shop.test"]
    assert only["lifecycle_stage"] == "prospect"
    assert (only["order_count"], only["first_order_date"], float(only["net_revenue"])) == (None, None, 0.0)
    assert only["return_rate"] == 1.0
    assert only["is_dissatisfied"] is False  # one valid order only


def test_seventy_day_rhythm_at_77_78_and_141_days(lifecycle_db):
    rows = persons(lifecycle_db)
    expected = {
        "p77@shop.test": (77, 1.1, "repeat", 7.0),
        "p78@shop.test": (78, 78 / 70, "at_risk", 8.0),
        "p141@shop.test": (141, 141 / 70, "lapsed", 71.0),
    }
    for email, (days, ratio, stage, overdue) in expected.items():
        p = rows[email]
        assert p["expected_interval_days"] == 70.0, email
        assert p["days_since_last_order"] == days, email
        assert p["overdue_ratio"] == pytest.approx(ratio), email
        assert p["lifecycle_stage"] == stage, email
        assert p["days_overdue"] == overdue, email
    assert rows["p77@shop.test"]["expected_next_order_date"] == d("2025-06-23")


def test_one_time_buyers_are_measured_against_the_population_median_gap(lifecycle_db):
    rows = persons(lifecycle_db)
    # median of first gaps 20, 30, 40, 70, 70, 70 = (40 + 70) / 2 = 55
    once30, once80 = rows["once30@shop.test"], rows["once80@shop.test"]
    assert once30["expected_interval_days"] == 55.0
    assert once30["avg_interval_days"] is None and once30["stddev_interval_days"] is None
    assert once30["expected_next_order_date"] == d("2025-07-25")
    assert (once30["overdue_ratio"], once30["lifecycle_stage"]) == (pytest.approx(30 / 55), "new")
    assert (once80["overdue_ratio"], once80["lifecycle_stage"]) == (pytest.approx(80 / 55), "at_risk")
    assert rows["first@shop.test"]["lifecycle_stage"] == "lapsed"  # 180 / 55
    assert rows["second@shop.test"]["lifecycle_stage"] == "lapsed"  # 121 / 55 = 2.2


def test_every_stage(lifecycle_db):
    stages = {email: row["lifecycle_stage"] for email, row in persons(lifecycle_db).items()}
    expected = {
        "prospect": {"onlyreturn", "stitch", "cold", "warm90", "cold91", "news", "cart30", "cart50"},
        "new": {"once30", "returner", "later", "cartbuy", "cartlate"},
        "repeat": {"p77", "sameday", "mixed.case", "repl"},
        "at_risk": {"p78", "once80"},
        "lapsed": {"p141", "first", "second"},
    }
    assert stages == {f"{name}@shop.test": stage for stage, names in expected.items() for name in names}
    summary = query(lifecycle_db, "select lifecycle_stage, persons from marts.lifecycle_summary order by stage_order")
    assert summary == [("prospect", 8), ("new", 5), ("repeat", 4), ("at_risk", 2), ("lapsed", 3)]


def test_lifecycle_summary_figures(lifecycle_db):
    rows = query(
        lifecycle_db,
        "select lifecycle_stage, share_of_persons, net_revenue, avg_order_value, avg_expected_interval_days "
        "from marts.lifecycle_summary",
    )
    by_stage = {r[0]: r[1:] for r in rows}
    # repeat: p77 210 + sameday 35 + mixed 100 + repl 60 = 405 over 3 + 3 + 2 + 2 = 10 orders
    share, revenue, aov, interval = by_stage["repeat"]
    assert (share, float(revenue), aov) == (pytest.approx(4 / 22), 405.0, pytest.approx(40.5))
    assert interval == pytest.approx((70 + 20 + 40 + 30) / 4)
    assert by_stage["prospect"][1:] == (0, None, None)


# --- as-of date -------------------------------------------------------------------------------------------


def test_as_of_date_excludes_later_orders(lifecycle_db):
    later = persons(lifecycle_db)["later@shop.test"]
    assert (later["order_count"], float(later["net_revenue"]), later["last_order_date"]) == (1, 15.0, d("2025-06-15"))
    assert later["as_of_date"] == d(AS_OF)
    order_ids = {r[0] for r in query(lifecycle_db, "select order_id from marts.fct_orders")}
    assert "o1102" not in order_ids and "o9999" not in order_ids and "o1101" in order_ids
    assert len(order_ids) == 27


def test_default_as_of_date_is_the_latest_valid_order(tmp_path_factory):
    database = _build(tmp_path_factory, "default_as_of", "lifecycle_raw", None)
    # o1102 (2025-07-05) is the latest valid order; the quarantined o9999 (2025-08-01, 'pending') is ignored.
    assert query(database, "select distinct as_of_date from marts.customer_lifecycle") == [(d("2025-07-05"),)]
    later = persons(database)["later@shop.test"]
    assert (later["purchase_days"], later["lifecycle_stage"]) == (2, "repeat")
    assert "future@shop.test" in persons(database)  # signed up 2025-07-02, visible from this as-of date


# --- overlays ---------------------------------------------------------------------------------------------


def test_engagement_warm_cold_unknown(lifecycle_db):
    engagement = {email: row["engagement"] for email, row in persons(lifecycle_db).items()}
    assert engagement["p77@shop.test"] == "warm"  # open 2025-06-01
    assert engagement["stitch@shop.test"] == "warm"  # session from an email
    assert engagement["warm90@shop.test"] == "warm"  # open exactly 90 days before the as-of date
    assert engagement["cold91@shop.test"] == "cold"  # click 91 days before, 3 deliveries in the window
    assert engagement["cold@shop.test"] == "cold"  # open 121 days before
    assert engagement["p141@shop.test"] == "cold"
    assert engagement["p78@shop.test"] == "unknown"  # only 2 deliveries
    assert engagement["sameday@shop.test"] == "unknown"  # no email at all
    assert sorted(e for e, v in engagement.items() if v == "warm") == [
        "p77@shop.test",
        "stitch@shop.test",
        "warm90@shop.test",
    ]


def test_archived_is_cold_and_not_active(lifecycle_db):
    archived = {e for e, row in persons(lifecycle_db).items() if row["is_archived"]}
    # p141 is lapsed and cold, cold@ and cold91@ are cold prospects; first@ and second@ are lapsed but unknown
    assert archived == {"p141@shop.test", "cold@shop.test", "cold91@shop.test"}


def test_subscription(lifecycle_db):
    rows = persons(lifecycle_db)
    subscribed = {e for e, row in rows.items() if row["is_subscribed"]}
    # p77 unsubscribed by email event; p78 unsubscribed then signed up again; news@ unsubscribes after the as-of date
    assert subscribed == {
        f"{n}@shop.test"
        for n in [
            "p78",
            "p141",
            "cold",
            "warm90",
            "cold91",
            "news",
            "once80",
            "cart30",
            "cart50",
            "cartbuy",
            "cartlate",
        ]
    }
    assert rows["p78@shop.test"]["signup_source"] == "newsletter"  # first signup's source
    assert rows["cold@shop.test"]["signup_source"] == "contest"
    assert rows["sameday@shop.test"]["signup_source"] is None


def test_vip_cut_off(lifecycle_db):
    # 11 buyers who are not lapsed x 0.10 -> 1 VIP. p77 and p78 tie on the most purchase days (3), revenue (210)
    # and recency (140 days from first to last purchase): 9 of the 10 other ranked buyers are lower on each, so
    # vip_score 0.9 each, and p77 has the lower customer_key.
    rows = persons(lifecycle_db)
    assert person_key("p77@shop.test") < person_key("p78@shop.test")
    assert {e for e, row in rows.items() if row["is_vip"]} == {"p77@shop.test"}
    assert rows["p77@shop.test"]["vip_score"] == rows["p78@shop.test"]["vip_score"] == pytest.approx(0.9)
    # p141 has the same figures but is lapsed: never VIP. Ranked against the 11 as if one of them (9 of the 11 are
    # lower on each figure: 9/11) it has p77 and p78 ahead of it, so it would not rank inside the one VIP place.
    p141 = rows["p141@shop.test"]
    assert (p141["is_vip"], p141["was_vip"], p141["vip_score"]) == (False, False, pytest.approx(9 / 11))
    assert not any(row["was_vip"] for row in rows.values())


# --- carts ------------------------------------------------------------------------------------------------


def test_carts_abandoned_and_reminders(lifecycle_db):
    carts = dict(query(lifecycle_db, "select session_id, is_abandoned from intermediate.int_sessions__recent_carts"))
    # s6 bought 30 min after its end; s8 ended 50 h before the end of the as-of date: past the 48 h look-back
    assert carts == {"s6": False, "s7": True, "s9": True}
    reminders = query(
        lifecycle_db,
        "select session_id, email, cart_value, session_ended_at, hours_since_session_end "
        "from marts.abandoned_cart_reminders",
    )
    # s7 ended 30 h before the end of the as-of date; s8 50 h (too late); s9 was bought 3 h after it ended
    assert [(r[0], r[1], float(r[2]), r[3], r[4]) for r in reminders] == [
        ("s7", "cart30@shop.test", 80.0, dt.datetime(2025, 6, 29, 18, 0), 30.0)
    ]
    open_carts = {e for e, row in persons(lifecycle_db).items() if row["has_open_cart"]}
    assert open_carts == {"cart30@shop.test"}


# --- audiences --------------------------------------------------------------------------------------------


def test_campaign_audiences(lifecycle_db):
    rows = query(lifecycle_db, "select audience, email from marts.campaign_audiences")
    got: dict[str, set[str]] = {}
    for audience, email in rows:
        got.setdefault(audience, set()).add(email.split("@")[0])
    assert got == {
        "first_purchase": {"warm90", "news", "cart30", "cart50"},  # cold@ and cold91@ are archived
        # sameday@ (repeat) bought 9 days ago; later@ bought 15 days ago: too long
        "post_purchase": {"returner", "cartbuy", "cartlate", "sameday"},
        "replenishment": {"repl"},  # next order expected 2025-07-04; no one-time buyer is due before 2025-07-07
        "reactivation": {"p78", "once80"},  # p141 is archived
        "service_callback": {"returner"},
        "vip_reward": {"p77"},
        "abandoned_cart": {"cart30"},
    }
    numbers = dict(
        query(
            lifecycle_db, "select email, purchase_number from marts.campaign_audiences where audience = 'post_purchase'"
        )
    )
    # sameday@'s three orders fell on two purchase days: its latest purchase is its second
    assert numbers == {"returner@shop.test": 1, "cartbuy@shop.test": 1, "cartlate@shop.test": 1, "sameday@shop.test": 2}
    cart = query(
        lifecycle_db, "select open_cart_value, reason from marts.campaign_audiences where audience = 'abandoned_cart'"
    )
    assert float(cart[0][0]) == 80.0 and cart[0][1]


# --- RFM --------------------------------------------------------------------------------------------------

# buyer: (days since last order, orders = purchase days, revenue) -> (R, F, M, segment), worked out with
# score = 1 + floor(5 * (rank - 1) / 9), rank in the "better" direction, ties sharing the lowest rank.
RFM_EXPECTED = {
    "b01": (5, 5, 5, "champions"),  # 1 day (tie with b02), 5 orders, 500
    "b02": (5, 1, 2, "new_customers"),  # 1 day, 1 order, 50
    "b03": (4, 4, 4, "loyal"),  # 10 days, 3 orders, 300
    "b04": (4, 3, 3, "potential_loyalist"),  # 20 days, 2 orders, 200
    "b05": (3, 1, 1, "about_to_sleep"),  # 30 days, 1 order, 10
    "b06": (3, 4, 4, "loyal"),  # 40 days, 4 orders, 400
    "b07": (2, 1, 1, "hibernating"),  # 50 days, 1 order, 10 (ties b05 on M)
    "b08": (2, 3, 3, "at_risk"),  # 60 days, 2 orders, 150
    "b09": (1, 5, 5, "cannot_lose_them"),  # 100 days, 6 orders, 600 (F capped at 5)
    "b10": (1, 1, 2, "lost"),  # 200 days, 1 order, 20
}


def test_rfm_scores_on_ten_hand_built_buyers(rfm_db):
    rows = persons(rfm_db)
    got = {e.split("@")[0]: (r["r_score"], r["f_score"], r["m_score"], r["rfm_segment"]) for e, r in rows.items()}
    assert got == RFM_EXPECTED
    # Every buyer buys every 10 days (the median first gap for one-time buyers too): only b01, b02, b03 (ratio up to
    # 1.0) and b04 (2.0) are not lapsed, and 4 x 0.10 gives no VIP. b09, with the most orders, revenue and tenure, was
    # the VIP of the version-1 rules; it is lapsed (100 days, ratio 10).
    assert not any(r["is_vip"] or r["was_vip"] for r in rows.values())
    assert rows["b09@rfm.test"]["lifecycle_stage"] == "lapsed"


def test_rfm_summary(rfm_db):
    segments = dict(query(rfm_db, "select rfm_segment, buyers from marts.rfm_summary where summary_level = 'segment'"))
    assert segments == {
        "champions": 1, "loyal": 2, "potential_loyalist": 1, "new_customers": 1, "promising": 0,
        "need_attention": 0, "about_to_sleep": 1, "at_risk": 1, "cannot_lose_them": 1, "hibernating": 1, "lost": 1,
    }  # fmt: skip
    cells = query(rfm_db, "select r_score, f_score, buyers from marts.rfm_summary where summary_level = 'cell'")
    assert len(cells) == 25
    assert {(r, f): n for r, f, n in cells if n} == {
        (5, 5): 1, (5, 1): 1, (4, 4): 1, (4, 3): 1, (3, 1): 1, (3, 4): 1, (2, 1): 1, (2, 3): 1, (1, 5): 1, (1, 1): 1
    }  # fmt: skip
