"""Tests for scripts/generate_data.py: run it as a subprocess on small sizes and check its output.

The contract checks below are written independently of the generator (plain Python on the CSV text), so they
also document what "clean" and each bad-row reason code mean.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import json
import re
import subprocess
import sys
from collections import Counter, defaultdict
from operator import itemgetter
from pathlib import Path

import pyarrow.parquet as pq
import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "generate_data.py"
DATASETS = ("orders", "sessions", "newsletter_signups", "email_events")
COLUMNS = {
    "orders": ["order_id", "customer_id", "email", "ordered_at", "status", "amount"],
    "sessions": [
        "session_id",
        "visitor_id",
        "customer_id",
        "email",
        "started_at",
        "ended_at",
        "device",
        "channel",
        "page_views",
        "cart_adds",
        "cart_value",
        "order_id",
    ],
    "newsletter_signups": ["signup_id", "email", "signed_up_at", "source", "unsubscribed_at"],
    "email_events": ["event_id", "email", "campaign_id", "event_type", "occurred_at"],
}
ID = {
    "orders": "order_id",
    "sessions": "session_id",
    "newsletter_signups": "signup_id",
    "email_events": "event_id",
}
END_DATE = dt.date(2026, 10, 31)  # the generator's default
END = dt.datetime(2026, 11, 1)  # exclusive, UTC
STATUSES = {"completed", "returned", "cancelled"}
EVENT_TYPES = {"delivered", "open", "click", "bounce", "unsubscribe"}


# --- running the generator ---------------------------------------------------------------------------------
def generate(out: Path, *args: str) -> Path:
    command = [sys.executable, str(SCRIPT), "--out", str(out), *args]
    subprocess.run(command, check=True, capture_output=True, text=True)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """Generator runs shared by the tests (each is small; the whole module stays well under 30 s)."""
    base = tmp_path_factory.mktemp("gen")
    small = ("--customers", "800", "--seed", "7", "--dirty-share", "0.05", "--chunk-size", "300")
    return {
        "dirty": generate(base / "dirty", *small),
        "dirty_again": generate(base / "dirty_again", *small),
        "dirty_parquet": generate(base / "dirty_parquet", *small, "--format", "parquet"),
        "other_seed": generate(base / "other_seed", *small[:2], "--seed", "8", *small[4:]),
        "small_clean": generate(base / "small_clean", *small[:4], "--dirty-share", "0", *small[6:]),
        "clean": generate(base / "clean", "--customers", "2000", "--dirty-share", "0"),
    }


def read_csv(out: Path, name: str) -> list[dict]:
    with open(out / f"{name}.csv", newline="", encoding="utf-8") as f:
        return [{k: (v if v != "" else None) for k, v in row.items()} for row in csv.DictReader(f)]


def summary(out: Path) -> dict:
    return json.loads((out / "generation_summary.json").read_text(encoding="utf-8"))


# --- contract checks (independent re-implementation) -------------------------------------------------------
def parse_ts(value: str | None) -> dt.datetime | None:
    """ISO-8601 -> naive UTC; None if unparseable."""
    try:
        moment = dt.datetime.fromisoformat(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return moment


def email_ok(value: str | None) -> bool:
    local, at, domain = (value or "").strip().partition("@")
    return bool(at and local and domain)


DECIMAL = re.compile(r"^\s*-?\d+(\.\d+)?\s*$")
INTEGER = re.compile(r"^\s*-?\d+\s*$")


def number_reason(value: str | None, column: str, integer: bool, nullable: bool) -> str | None:
    if value is None:
        return None if nullable else f"invalid_{column}"
    if not (INTEGER if integer else DECIMAL).match(value):
        return f"invalid_{column}"
    return f"negative_{column}" if float(value) < 0 else None


def ts_reason(value: str | None, column: str, nullable: bool) -> str | None:
    if value is None:
        return None if nullable else f"invalid_{column}"
    moment = parse_ts(value)
    if moment is None:
        return f"invalid_{column}"
    return f"future_{column}" if moment > END + dt.timedelta(days=1) else None


def row_reason(name: str, row: dict) -> str | None:
    """The reason a row is bad by the contract (ignoring duplicates), or None."""
    reasons = []
    if not row[ID[name]]:
        reasons.append(f"missing_{ID[name]}")
    if name == "sessions":
        if not row["visitor_id"]:
            reasons.append("missing_visitor_id")
        if row["email"] is not None and not email_ok(row["email"]):
            reasons.append("invalid_email")
        reasons.append(ts_reason(row["started_at"], "started_at", False))
        reasons.append(ts_reason(row["ended_at"], "ended_at", True))
        reasons.append(number_reason(row["page_views"], "page_views", True, False))
        reasons.append(number_reason(row["cart_adds"], "cart_adds", True, False))
        reasons.append(number_reason(row["cart_value"], "cart_value", False, True))
    else:
        if row["email"] is None:
            reasons.append("missing_email")
        elif not email_ok(row["email"]):
            reasons.append("invalid_email")
    if name == "orders":
        reasons.append(ts_reason(row["ordered_at"], "ordered_at", False))
        if (row["status"] or "").strip().lower() not in STATUSES:
            reasons.append("invalid_status")
        reasons.append(number_reason(row["amount"], "amount", False, False))
    if name == "newsletter_signups":
        reasons.append(ts_reason(row["signed_up_at"], "signed_up_at", False))
        reasons.append(ts_reason(row["unsubscribed_at"], "unsubscribed_at", True))
    if name == "email_events":
        if not row["campaign_id"]:
            reasons.append("missing_campaign_id")
        if (row["event_type"] or "").strip().lower() not in EVENT_TYPES:
            reasons.append("invalid_event_type")
        reasons.append(ts_reason(row["occurred_at"], "occurred_at", False))
    found = [r for r in reasons if r]
    assert len(found) <= 1, (name, row, found)  # every bad row has exactly one defect
    return found[0] if found else None


TS_COLUMN = {"orders": "ordered_at", "sessions": "started_at", "newsletter_signups": "signed_up_at"}
TS_COLUMN["email_events"] = "occurred_at"


def classify(name: str, rows: list[dict]) -> tuple[list[dict], Counter]:
    """Split rows into clean rows and a count of bad rows per reason, as the staging layer would."""
    bad = Counter()
    valid = []
    for row in rows:
        reason = row_reason(name, row)
        if reason:
            bad[reason] += 1
        else:
            valid.append(row)
    by_id = defaultdict(list)
    for row in valid:
        by_id[row[ID[name]]].append(row)
    clean = []
    for group in by_id.values():
        # orders keep the latest ordered_at, the other datasets the earliest row
        group.sort(key=lambda r: parse_ts(r[TS_COLUMN[name]]), reverse=name == "orders")
        clean.append(group[0])
        bad[f"duplicate_{ID[name]}"] += len(group) - 1
        if len(group) > 1:
            assert parse_ts(group[0][TS_COLUMN[name]]) != parse_ts(group[1][TS_COLUMN[name]])
    return clean, bad


def norm(email: str) -> str:
    return email.strip().lower()


# --- tests -------------------------------------------------------------------------------------------------
def test_deterministic_and_seed_dependent(runs):
    for name in DATASETS:
        first = (runs["dirty"] / f"{name}.csv").read_bytes()
        assert first == (runs["dirty_again"] / f"{name}.csv").read_bytes(), name
        assert first != (runs["other_seed"] / f"{name}.csv").read_bytes(), name
    one, two = summary(runs["dirty"]), summary(runs["dirty_again"])
    one.pop("elapsed_seconds"), two.pop("elapsed_seconds")
    assert one == two


def test_exact_columns(runs):
    for name in DATASETS:
        with open(runs["dirty"] / f"{name}.csv", encoding="utf-8") as f:
            assert f.readline().rstrip("\n").split(",") == COLUMNS[name]
        schema = pq.read_schema(runs["dirty_parquet"] / f"{name}.parquet")
        assert schema.names == COLUMNS[name]
        assert all(str(t) == "string" for t in schema.types), name


def test_csv_and_parquet_hold_the_same_rows(runs):
    for name in DATASETS:
        parquet = pq.read_table(runs["dirty_parquet"] / f"{name}.parquet")
        assert read_csv(runs["dirty"], name) == parquet.to_pylist()
    assert summary(runs["dirty"])["bad_rows"] == summary(runs["dirty_parquet"])["bad_rows"]


def test_switching_format_removes_the_stale_file(runs, tmp_path):
    out = generate(tmp_path / "switch", "--customers", "20")
    assert (out / "orders.csv").exists()
    generate(out, "--customers", "20", "--format", "parquet")
    assert (out / "orders.parquet").exists() and not (out / "orders.csv").exists()
    assert not list(out.glob(".*"))  # no partial files left behind


def test_summary_matches_files(runs):
    for key in ("dirty", "dirty_parquet", "clean"):
        s = summary(runs[key])
        assert set(s) >= {"seed", "customers", "format", "end_date", "dirty_share", "rows", "bad_rows"}
        assert s["end_date"] == END_DATE.isoformat()
        for name in DATASETS:
            path = runs[key] / f"{name}.{s['format']}"
            parquet = s["format"] == "parquet"
            n = pq.read_metadata(path).num_rows if parquet else len(read_csv(runs[key], name))
            assert s["rows"][name] == n, (key, name)


def test_no_dirty_rows_means_every_row_is_clean(runs):
    for key in ("clean", "small_clean"):
        assert all(sum(v.values()) == 0 for v in summary(runs[key])["bad_rows"].values())
        for name in DATASETS:
            rows = read_csv(runs[key], name)
            ids = [r[ID[name]] for r in rows]
            assert len(ids) == len(set(ids)), name
            for row in rows:
                assert row_reason(name, row) is None, (name, row)
                for column in COLUMNS[name]:
                    if column.endswith("_at") and row[column] is not None:
                        assert dt.datetime(2023, 11, 1) <= parse_ts(row[column]) < END, row


def test_dirty_rows_are_counted_exactly(runs):
    s = summary(runs["dirty"])
    for name in DATASETS:
        rows = read_csv(runs["dirty"], name)
        clean, bad = classify(name, rows)
        expected = {k: v for k, v in s["bad_rows"][name].items() if v}
        assert dict(bad) == expected, name
        assert all(v > 0 for v in s["bad_rows"][name].values()), f"every reason code present in {name}"
        n_clean = s["rows"][name] - sum(expected.values())
        assert len(clean) == n_clean
        assert sum(expected.values()) == int(s["dirty_share"] * n_clean + 0.5)  # round half up
        ids = [r[ID[name]] for r in clean]
        assert len(ids) == len(set(ids))


def test_clean_rows_do_not_depend_on_the_dirty_share(runs):
    for name in DATASETS:
        clean, _ = classify(name, read_csv(runs["dirty"], name))
        key = itemgetter(ID[name])
        assert sorted(clean, key=key) == sorted(read_csv(runs["small_clean"], name), key=key), name


def test_duplicates_copy_clean_rows_once(runs):
    for name in DATASETS:
        rows = read_csv(runs["dirty"], name)
        counts = Counter(r[ID[name]] for r in rows if r[ID[name]])
        assert max(counts.values()) == 2
        for dup_id in [i for i, c in counts.items() if c == 2]:
            a, b = [r for r in rows if r[ID[name]] == dup_id]
            assert row_reason(name, a) is None and row_reason(name, b) is None
            assert parse_ts(a[TS_COLUMN[name]]) != parse_ts(b[TS_COLUMN[name]])


def test_invalid_arguments_are_rejected(tmp_path):
    for args in (["--dirty-share", "0.9"], ["--customers", "0"], ["--end-date", "2026-13-01"]):
        result = subprocess.run(
            [sys.executable, str(SCRIPT), "--out", str(tmp_path), *args], capture_output=True, text=True
        )
        assert result.returncode == 2, args


# --- realism ---------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shop(runs):
    out = runs["clean"]
    return {name: read_csv(out, name) for name in DATASETS}


def test_volumes(shop):
    orders = len(shop["orders"])
    assert 2.0 <= orders / 2000 <= 3.0
    assert 2.5 <= len(shop["sessions"]) / orders <= 3.5
    assert 3.0 <= len(shop["email_events"]) / orders <= 5.0


def test_buyers_prospects_and_one_time_buyers(shop):
    purchase_days = defaultdict(set)
    for o in shop["orders"]:
        if o["status"].strip().lower() == "completed":
            purchase_days[norm(o["email"])].add(parse_ts(o["ordered_at"]).date())
    identified = shop["orders"] + shop["sessions"] + shop["newsletter_signups"]
    known = {norm(r["email"]) for r in identified if r["email"]}
    buyers = len(purchase_days)
    assert 0.25 <= 1 - buyers / len(known) <= 0.35, "prospect share"
    assert 0.38 <= sum(len(d) == 1 for d in purchase_days.values()) / buyers <= 0.52, "one-time buyers"
    assert max(max(d) for d in purchase_days.values()) == END_DATE, "as-of date defaults to the end date"
    repeat = [sorted(d) for d in purchase_days.values() if len(d) >= 2]
    yearly = [d for d in repeat if min((b - a).days for a, b in zip(d, d[1:], strict=False)) > 300]
    assert yearly, "some yearly buyers"
    # orders
    statuses = Counter(o["status"].strip().lower() for o in shop["orders"])
    assert 0.03 <= statuses["returned"] / len(shop["orders"]) <= 0.09
    assert 0.01 <= statuses["cancelled"] / len(shop["orders"]) <= 0.06
    assert any(o["status"] != o["status"].lower() for o in shop["orders"]), "status case varies"
    assert any(o["email"] != o["email"].strip() for o in shop["orders"]), "emails with spaces"
    guest = sum(o["customer_id"] is None for o in shop["orders"]) / len(shop["orders"])
    assert 0.15 <= guest <= 0.35
    by_person = defaultdict(list)
    for o in shop["orders"]:
        by_person[norm(o["email"])].append(o)
    partly_guest = [p for p, os in by_person.items() if len({o["customer_id"] is None for o in os}) == 2]
    assert partly_guest, "persons with an account id on some orders only"
    returners = [
        os
        for os in by_person.values()
        if len(os) >= 2 and sum(o["status"].lower() != "completed" for o in os) / len(os) > 0.5
    ]
    assert returners, "serial returners"
    same_day = Counter((norm(o["email"]), o["ordered_at"][:10]) for o in shop["orders"])
    assert max(same_day.values()) >= 2
    stamps = [o["ordered_at"] for o in shop["orders"]]
    styles = Counter("Z" if v.endswith("Z") else "offset" if v[19:] else "naive" for v in stamps)
    assert set(styles) == {"naive", "Z", "offset"}


def test_seasonality(shop):
    stamps = [parse_ts(o["ordered_at"]) for o in shop["orders"]]
    per_month = Counter(t.month for t in stamps if t.year == 2025)
    rest = sum(per_month[m] for m in range(1, 11)) / 10
    assert (per_month[11] + per_month[12]) / 2 > 1.3 * rest


def test_sessions_visitors_and_carts(shop):
    sessions = sorted(shop["sessions"], key=lambda s: parse_ts(s["started_at"]))
    cust_email = {}
    for r in shop["orders"] + sessions:
        if r["customer_id"] and r["email"]:
            cust_email.setdefault(r["customer_id"], norm(r["email"]))
    visitor_person = defaultdict(set)
    for s in sessions:
        who = norm(s["email"]) if s["email"] else cust_email.get(s["customer_id"])
        if who:
            visitor_person[s["visitor_id"]].add(who)
    assert all(len(p) == 1 for p in visitor_person.values()), "a visitor belongs to one person"
    devices = Counter(next(iter(p)) for p in visitor_person.values())
    assert sum(c >= 2 for c in devices.values()) >= 0.1 * len(devices), "persons with several devices"
    # anonymous sessions of a visitor identified in a later session
    first_identified = {}
    for s in sessions:
        if s["email"] or s["customer_id"]:
            first_identified.setdefault(s["visitor_id"], parse_ts(s["started_at"]))
    anonymous = [s for s in sessions if not s["email"] and not s["customer_id"]]
    never = dt.datetime.min
    later = [s for s in anonymous if parse_ts(s["started_at"]) < first_identified.get(s["visitor_id"], never)]
    assert 0.3 <= len(anonymous) / len(sessions) <= 0.6 and len(later) >= 100
    # every online order comes from a converting session that carries it
    orders = {o["order_id"]: o for o in shop["orders"]}
    converting = [s for s in sessions if s["order_id"]]
    assert len({s["order_id"] for s in converting}) == len(converting) >= 0.9 * len(orders)
    for s in converting:
        assert parse_ts(s["started_at"]) <= parse_ts(orders[s["order_id"]]["ordered_at"])
    # carts: about 70 % abandoned (no purchase by the same person within the hour after the session's end)
    purchases = defaultdict(list)
    for o in shop["orders"]:
        if o["status"].strip().lower() == "completed":
            purchases[norm(o["email"])].append(parse_ts(o["ordered_at"]))
    for times in purchases.values():
        times.sort()
    carts = [s for s in sessions if int(s["cart_adds"]) > 0 and not s["order_id"]]
    abandoned = 0
    for s in carts:
        end = parse_ts(s["ended_at"] or s["started_at"])
        who = visitor_person.get(s["visitor_id"]) or (
            {norm(s["email"])} if s["email"] else {cust_email.get(s["customer_id"])}
        )
        times = purchases.get(next(iter(who)), []) if who else []
        i = bisect.bisect_right(times, end)
        abandoned += not (i < len(times) and times[i] <= end + dt.timedelta(hours=1))
    assert 0.62 <= abandoned / len(carts) <= 0.78
    due_from, due_to = END - dt.timedelta(hours=48), END - dt.timedelta(hours=24)
    due = [s for s in carts if due_from <= parse_ts(s["ended_at"] or s["started_at"]) < due_to]
    assert due, "carts whose reminder is due at the end date"
    assert {"desktop", "mobile", "tablet", "app"} <= {s["device"] for s in sessions}
    assert {"email", "organic", "paid", "social", "direct", "referral"} <= {s["channel"] for s in sessions}


def test_newsletter_and_email_engagement(shop):
    signups = defaultdict(list)
    for s in shop["newsletter_signups"]:
        signups[norm(s["email"])].append(s)
    assert {s["source"] for s in shop["newsletter_signups"]} == {
        "newsletter",
        "contest",
        "account",
        "checkout",
    }
    assert any(s["unsubscribed_at"] for s in shop["newsletter_signups"])
    events = sorted(shop["email_events"], key=lambda e: parse_ts(e["occurred_at"]))
    types = Counter(e["event_type"] for e in events)
    assert set(types) == EVENT_TYPES and types["delivered"] > types["open"] > types["click"] > 0
    assert all(re.fullmatch(r"cmp_\d{4}_w\d{2}", e["campaign_id"]) for e in events)
    # an unsubscribe event matches an unsubscribed_at; no campaign arrives afterwards unless signed up again
    deliveries = defaultdict(list)
    for e in events:
        if e["event_type"] == "delivered":
            deliveries[norm(e["email"])].append(parse_ts(e["occurred_at"]))
    for u in (e for e in events if e["event_type"] == "unsubscribe"):
        who, when = norm(u["email"]), parse_ts(u["occurred_at"])
        assert when in {parse_ts(s["unsubscribed_at"]) for s in signups[who] if s["unsubscribed_at"]}
        signed_up = [parse_ts(s["signed_up_at"]) for s in signups[who]]
        again = min((t for t in signed_up if t > when), default=END)
        assert not [t for t in deliveries[who] if when < t < again], who
    # warm and cold people in the 90 days before the end date
    start = END - dt.timedelta(days=90)
    warm, delivered = set(), Counter()
    for e in events:
        if parse_ts(e["occurred_at"]) >= start:
            if e["event_type"] in ("open", "click"):
                warm.add(norm(e["email"]))
            elif e["event_type"] == "delivered":
                delivered[norm(e["email"])] += 1
    cold = [p for p, n in delivered.items() if n >= 3 and p not in warm]
    assert len(warm) >= 50 and len(cold) >= 50
