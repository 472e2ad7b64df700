#!/usr/bin/env python3
"""Generate a realistic, deterministic raw data set for the customer_lifecycle pipeline.

Writes the four raw datasets of docs/raw-data-contract (``orders``, ``sessions``, ``newsletter_signups``,
``email_events``) as CSV or Parquet, plus ``generation_summary.json`` (row counts and the exact number of
deliberately bad rows per dataset and reason code).

Behaviour model (one simulated online shop that opened ``--years`` before ``--end-date``):

* Persons. ``--customers`` known persons, each with one unique email. About 30 % are prospects who never buy:
  newsletter or contest sign-ups, account holders without an order, people only identified in a session (a
  form, a login) and people whose only orders were returned or cancelled. The rest are buyers; first contacts
  are spread over the whole span with a shop that grows about 4x and peaks in November/December.
* Purchases. Each buyer has a personal mean inter-purchase interval (lognormal, median 65 days, clipped to
  14-180 days; 4 % are yearly buyers), gamma-distributed gaps around it (shape 2-4) on a seasonal clock
  (busier in Nov/Dec, so gaps shrink there), a personal spend level (lognormal order amounts) and a personal
  probability of dropping out for good after each purchase; a quarter never come back after the first order.
  Buyers who dropped out drift to at_risk and lapsed by the end date; recent ones are still active.
  Orders are completed (about 89 %), returned (7 %) or cancelled (4 %); a few serial returners return most
  orders. About 3 % of orders get a second order the same day. About 28 % of orders are guest checkouts
  (no customer_id); some persons open their account only at a later order.
* Sessions. Every person has 1-3 devices (visitor ids). Each online order (96 %) comes from a converting
  session that carries its order_id. Around purchases, sign-ups and email clicks there are browsing sessions,
  mostly anonymous; a visitor that is anonymous today is often identified later (login, checkout, email link).
  Carts are sessions with cart_adds > 0 and no order: about 30 % are followed by a purchase within the hour,
  the rest are abandoned; some carts end in the last three days, so cart reminders are due at the end date.
  About 15 % of persons also left an extra never-identified device behind (anonymous-only visitor).
* Newsletter. Sign-ups come from the newsletter form, contests, account creation and checkout. About a fifth
  unsubscribe later (most via the unsubscribe link, which also writes an ``unsubscribe`` email event); some of
  those sign up again.
* Email events. Weekly campaigns (``cmp_<iso year>_w<iso week>``, sent Tuesdays 08:00 UTC) each reach about
  a quarter of the current subscribers (segmented sends): ``delivered`` or ``bounce`` (hard bounces stop all
  later sends), then ``open`` and ``click`` with a personal propensity that fades for buyers who dropped out
  and for old prospects, so both warm and cold people exist. Clicks start an email-channel session.

Timestamps are ISO-8601 seconds: mostly naive UTC (``2025-03-01T10:15:00``), some with ``Z`` and some in shop
local time with an offset (``+01:00`` in winter, ``+02:00`` in summer). Every clean timestamp lies between the
start of the span and the end of ``--end-date`` (UTC). Chunk 0 always has a completed order on the end date,
so the pipeline's default as-of date equals ``--end-date``.

Bad rows (``--dirty-share``): per dataset, round-half-up(share x clean rows) extra rows with exactly one
defect each (reason codes as in the dbt staging layer), rotating over all reason codes of the dataset.

Output is a pure function of the arguments: same arguments, same bytes (except ``elapsed_seconds`` in the
summary). Customers are simulated in chunks of ``--chunk-size``; each chunk is vectorised with numpy and
appended to the CSV/Parquet writers, so memory stays flat however many customers are asked for. The clean
rows do not depend on ``--dirty-share``: bad rows use their own random stream and their own id range.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

DAY = 86_400
HOUR = 3_600
NEVER = np.int64(2**62)  # "no such time" for int64 timestamp columns

COLUMNS: dict[str, tuple[str, ...]] = {
    "orders": ("order_id", "customer_id", "email", "ordered_at", "status", "amount"),
    "sessions": (
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
    ),
    "newsletter_signups": ("signup_id", "email", "signed_up_at", "source", "unsubscribed_at"),
    "email_events": ("event_id", "email", "campaign_id", "event_type", "occurred_at"),
}
DATASETS = tuple(COLUMNS)
ID_COLUMN = {
    "orders": "order_id",
    "sessions": "session_id",
    "newsletter_signups": "signup_id",
    "email_events": "event_id",
}
ID_PREFIX = {"orders": "o", "sessions": "s", "newsletter_signups": "n", "email_events": "e"}
ID_DIGITS = 10
BAD_ID_BASE = 9_000_000_000  # fresh ids of bad rows: o9000000001, ... (clean ids count up from 1)

BAD_REASONS: dict[str, tuple[str, ...]] = {
    "orders": (
        "missing_order_id",
        "missing_email",
        "invalid_email",
        "invalid_ordered_at",
        "future_ordered_at",
        "invalid_status",
        "invalid_amount",
        "negative_amount",
        "duplicate_order_id",
    ),
    "sessions": (
        "missing_session_id",
        "missing_visitor_id",
        "invalid_email",
        "invalid_started_at",
        "future_started_at",
        "invalid_ended_at",
        "future_ended_at",
        "invalid_page_views",
        "negative_page_views",
        "invalid_cart_adds",
        "negative_cart_adds",
        "invalid_cart_value",
        "negative_cart_value",
        "duplicate_session_id",
    ),
    "newsletter_signups": (
        "missing_signup_id",
        "missing_email",
        "invalid_email",
        "invalid_signed_up_at",
        "future_signed_up_at",
        "invalid_unsubscribed_at",
        "future_unsubscribed_at",
        "duplicate_signup_id",
    ),
    "email_events": (
        "missing_event_id",
        "missing_email",
        "invalid_email",
        "missing_campaign_id",
        "invalid_event_type",
        "invalid_occurred_at",
        "future_occurred_at",
        "duplicate_event_id",
    ),
}
# Timestamp column shifted in the copy of a duplicate_* row, and the direction: the pipeline keeps the latest
# order row but the earliest row of the other datasets, so the copy is always the one quarantined.
DUPLICATE_SHIFT = {
    "orders": ("ordered_at", -1),
    "sessions": ("started_at", +1),
    "newsletter_signups": ("signed_up_at", +1),
    "email_events": ("occurred_at", +1),
}
INVALID_TIMESTAMPS = (
    "not-a-date",
    "2025-13-45T10:00:00",
    "2025-02-30T12:00:00",
    "31/12/2025 25:61",
    "yesterday",
)
FUTURE_TIMESTAMPS = ("2099-01-01T00:00:00", "2099-06-15T12:30:00Z", "2100-12-31T23:59:59+01:00")
INVALID_DECIMALS = ("abc", "1,5", "12.50 EUR", "ten")
INVALID_INTEGERS = ("abc", "1,5", "2.5", "many")
INTEGER_COLUMNS = ("page_views", "cart_adds")
INVALID_STATUSES = ("shipped", "pending", "on-hold", "refunded_partial")
INVALID_EVENT_TYPES = ("bounced_soft", "opened", "spam_report", "dropped")

# --- behaviour parameters -----------------------------------------------------------------------------------
BUYER, P_NEWSLETTER, P_CONTEST, P_ACCOUNT, P_IDENTIFIED, P_FAILED = range(6)
PERSON_TYPE_SHARES = (0.75, 0.085, 0.035, 0.035, 0.065, 0.03)
PRESUBSCRIBER_SHARE = 0.18  # buyers who signed up for the newsletter before their first order
PRESUBSCRIBER_DELAY_DAYS = 40.0  # mean days from such a sign-up to the first order
ONE_TIMER_SHARE = 0.25  # buyers who never come back after their first order
DROPOUT_BETA = (2.0, 10.0)  # per-purchase probability of dropping out for good (mean ~0.17)
YEARLY_BUYER_SHARE = 0.04
INTERVAL_MEDIAN_DAYS, INTERVAL_SIGMA = 65.0, 0.6
MIN_GAP_DAYS = 2.0
MAX_ORDERS_PER_PERSON = 250
SPEND_MEDIAN, SPEND_SIGMA, ORDER_SIGMA = 45.0, 0.55, 0.35
SERIAL_RETURNER_SHARE = 0.02
RETURN_P, SERIAL_RETURN_P, CANCEL_P = 0.04, 0.6, 0.03
ZERO_AMOUNT_P = 0.003
SAME_DAY_EXTRA_ORDER_P = 0.03
OFFLINE_ORDER_P = 0.04  # phone orders: no converting session
NO_ACCOUNT_SHARE, ACCOUNT_AT_FIRST_ORDER_SHARE = 0.17, 0.63  # rest: account opened at a later order
GUEST_DESPITE_ACCOUNT_P = 0.05
GROWTH = 4.0  # new persons per day at the end of the span / at its start
MONTH_FACTOR = np.array([0.85, 0.85, 0.95, 0.95, 1.0, 0.95, 0.9, 0.9, 1.0, 1.05, 1.45, 1.6])
WEEKDAY_FACTOR = np.array([1.05, 1.0, 1.0, 0.98, 0.95, 0.92, 1.1])  # Monday .. Sunday
HOUR_WEIGHTS = np.array(
    [0.5, 0.3, 0.2, 0.15, 0.15, 0.2, 0.4, 0.8, 1.2, 1.4, 1.5, 1.5]
    + [1.6, 1.5, 1.4, 1.4, 1.5, 1.7, 2.0, 2.3, 2.4, 2.1, 1.5, 0.9]
)
# newsletter
CHECKOUT_SIGNUP_P, ACCOUNT_SIGNUP_P, ACCOUNT_PROSPECT_SIGNUP_P, FAILED_SIGNUP_P = 0.36, 0.08, 0.6, 0.3
UNSUBSCRIBE_P, UNSUBSCRIBE_MEAN_DAYS, UNSUBSCRIBE_EVENT_P = 0.22, 300.0, 0.8
RESIGNUP_P, RESIGNUP_MEAN_DAYS, DOUBLE_SIGNUP_P = 0.15, 150.0, 0.03
SOURCES = ("newsletter", "contest", "account", "checkout")
# email
CAMPAIGN_REACH = 0.23  # share of subscribers a weekly campaign is sent to
HARD_BOUNCE_PERSON_P, SOFT_BOUNCE_P = 0.03, 0.005
FADE_DAYS = 75.0
EVENT_TYPES = ("delivered", "open", "click", "bounce", "unsubscribe")
DELIVERED, OPEN, CLICK, BOUNCE, UNSUBSCRIBE = range(5)
# sessions
DEVICES = ("desktop", "mobile", "tablet", "app", "smart-tv", "console")
DEVICE_W_FIRST = (0.45, 0.44, 0.04, 0.06, 0.007, 0.003)
DEVICE_W_OTHER = (0.25, 0.45, 0.12, 0.17, 0.007, 0.003)
CHANNELS = ("email", "organic", "paid", "social", "direct", "referral", "affiliate")
CHANNEL_W_NON_EMAIL = (0.0, 0.30, 0.22, 0.12, 0.27, 0.075, 0.015)
EMAIL_CHANNEL = 0
PRECART_P = 0.12  # completed online orders preceded by a separate cart session within the hour
RESEARCH_SESSIONS_PER_ORDER = 0.55
BROWSE_RATE_PER_DAY = 1 / 130
CARTS_PER_ORDER, CARTS_PER_PERSON = 0.21, 0.08
RECENT_CART_P_SUBSCRIBED, RECENT_CART_P_OTHER = 0.05, 0.006
ANON_VISITOR_SHARE, ANON_CART_P = 0.15, 0.05
SESSION_END_UNKNOWN_P = 0.04
_FIRST_NAMES = (
    "anna emma mia sofia lena lea hannah marie laura julia sara nina lisa clara eva paula ida ella "
    "noah ben paul leon finn elias felix jonas luca max david tom jan tim lukas moritz ali omar ivan "
    "marco pierre jose liam olivia amir"
)
_LAST_NAMES = (
    "mueller schmidt schneider fischer weber meyer wagner becker schulz hoffmann koch richter klein "
    "wolf neumann schwarz braun zimmermann krueger hartmann lange werner krause lehmann smith jones "
    "brown garcia rossi martin bernard dubois silva novak kowalski nielsen jansen peeters horvat"
)
FIRST_NAMES, LAST_NAMES = tuple(_FIRST_NAMES.split()), tuple(_LAST_NAMES.split())
DOMAINS = (
    "example.com",
    "example.org",
    "example.net",
    "mail.example.com",
    "post.example.net",
    "inbox.example.org",
)
DOMAIN_W = (0.3, 0.2, 0.15, 0.15, 0.1, 0.1)

NAIVE, ZULU, LOCAL = range(3)
TS_STYLE_W = {
    "orders": (0.80, 0.08, 0.12),
    "sessions": (0.85, 0.10, 0.05),
    "newsletter_signups": (0.85, 0.0, 0.15),
    "email_events": (0.25, 0.75, 0.0),
}


# --- small vectorised helpers -------------------------------------------------------------------------------
def draw(rng: np.random.Generator, size, weights) -> np.ndarray:
    """Category codes 0..len(weights)-1 drawn with the given (unnormalised) weights."""
    cdf = np.cumsum(weights, dtype=np.float64)
    return np.minimum(np.searchsorted(cdf / cdf[-1], rng.random(size), side="right"), len(weights) - 1)


def words(vocab, codes: np.ndarray) -> pa.Array:
    return pa.array(vocab, pa.string()).take(pa.array(codes))


def text(values: np.ndarray) -> pa.Array:
    return pc.cast(pa.array(values), pa.string())


def null_where(mask: np.ndarray, values: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask), pa.scalar(None, pa.string()), values)


def bytes_to_text(buf: np.ndarray) -> pa.Array:
    """(n, width) uint8 ASCII -> string array."""
    n, width = buf.shape
    return pa.array(np.ascontiguousarray(buf).view(f"S{width}").ravel(), pa.binary()).cast(pa.string())


def ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pc.binary_join_element_wise(prefix, pc.utf8_lpad(text(numbers), ID_DIGITS, "0"), "")


def money(cents: np.ndarray) -> pa.Array:
    whole, frac = np.divmod(cents, 100)
    return pc.binary_join_element_wise(text(whole), ".", pc.utf8_lpad(text(frac), 2, "0"), "")


def iso_seconds(ts: np.ndarray) -> pa.Array:
    """int64 Unix seconds -> 'YYYY-MM-DDTHH:MM:SS' (fast: digits written straight into a byte buffer)."""
    t = ts.astype("datetime64[s]")
    days = t.astype("datetime64[D]")
    months = t.astype("datetime64[M]")
    years = t.astype("datetime64[Y]")
    y = years.astype(np.int64) + 1970
    mo = months.astype(np.int64) - (y - 1970) * 12 + 1
    d = (days - months.astype("datetime64[D]")).astype(np.int64) + 1
    sod = (t - days).astype(np.int64)
    fields = [
        (y, 4, 0),
        (mo, 2, 5),
        (d, 2, 8),
        (sod // 3600, 2, 11),
        (sod // 60 % 60, 2, 14),
        (sod % 60, 2, 17),
    ]
    buf = np.empty((len(ts), 19), np.uint8)
    buf[:, [4, 7]] = ord("-")
    buf[:, 10] = ord("T")
    buf[:, [13, 16]] = ord(":")
    for value, width, pos in fields:
        for i in range(width):
            buf[:, pos + width - 1 - i] = 48 + value // 10**i % 10
    return bytes_to_text(buf)


def shift_years(day: dt.date, years: int) -> dt.date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


class Calendar:
    """The simulated span: day grid, seasonality, growth, time of day, campaign weeks, timestamp rendering."""

    def __init__(self, end_date: dt.date, years: int):
        start = shift_years(end_date, -years) + dt.timedelta(days=1)
        self.n_days = (end_date - start).days + 1
        self.start_ts = (start - dt.date(1970, 1, 1)).days * DAY
        self.end_ts = self.start_ts + self.n_days * DAY - 1  # last second of the end date, UTC
        self.day_ts = self.start_ts + np.arange(self.n_days, dtype=np.int64) * DAY
        dates = np.datetime64(start, "D") + np.arange(self.n_days)
        month = dates.astype("datetime64[M]").astype(np.int64) % 12 + 1
        mday = (dates - dates.astype("datetime64[M]")).astype(np.int64) + 1
        weekday = (dates.astype(np.int64) + 3) % 7  # 0 = Monday
        peak = ((month == 11) & (mday >= 20)) | ((month == 12) & (mday <= 20))
        season = MONTH_FACTOR[month - 1] * np.where(peak, 1.25, 1.0) * WEEKDAY_FACTOR[weekday]
        season /= season.mean()
        # Seasonal clock: purchase gaps are drawn in "busy days"; lam maps day boundaries to busy days.
        self.day_grid = np.arange(self.n_days + 1, dtype=np.float64)
        self.lam = np.concatenate(([0.0], np.cumsum(season)))
        self.summer = (month >= 4) & (month <= 10)
        weights = np.exp(np.log(GROWTH) * np.arange(self.n_days) / self.n_days) * season
        self.acquisition_cdf = np.cumsum(weights) / weights.sum()
        self.hour_cdf = np.cumsum(HOUR_WEIGHTS) / HOUR_WEIGHTS.sum()
        tuesdays = np.arange((1 - weekday[0]) % 7, self.n_days, 7)
        self.send_ts = self.day_ts[tuesdays] + 8 * HOUR
        labels = []
        for day in tuesdays:
            iso = (start + dt.timedelta(days=int(day))).isocalendar()
            labels.append(f"cmp_{iso.year}_w{iso.week:02d}")
        self.campaign_ids = pa.array(labels, pa.string())

    def days_to_busy(self, days: np.ndarray) -> np.ndarray:
        return np.interp(days, self.day_grid, self.lam)

    def busy_to_days(self, busy: np.ndarray) -> np.ndarray:
        return np.interp(busy, self.lam, self.day_grid)

    def sample_days(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """Days weighted by shop growth and seasonality."""
        return np.minimum(np.searchsorted(self.acquisition_cdf, rng.random(n), side="right"), self.n_days - 1)

    def time_of_day(self, rng: np.random.Generator, n: int) -> np.ndarray:
        hour = np.minimum(np.searchsorted(self.hour_cdf, rng.random(n), side="right"), 23)
        return hour * HOUR + rng.integers(0, HOUR, n)

    def day_index(self, ts: np.ndarray) -> np.ndarray:
        return np.clip((ts - self.start_ts) // DAY, 0, self.n_days - 1)

    def render(self, ts: np.ndarray, style: np.ndarray, null: np.ndarray | None = None) -> pa.Array:
        """ISO-8601 text: naive UTC, UTC with 'Z', or shop local time with its offset (+01:00/+02:00)."""
        summer = self.summer[self.day_index(ts)]
        local = style == LOCAL
        shifted = ts + np.where(local, np.where(summer, 2 * HOUR, HOUR), 0)
        suffix = np.where(style == ZULU, 1, np.where(local, np.where(summer, 3, 2), 0))
        suffix_text = words(("", "Z", "+01:00", "+02:00"), suffix)
        out = pc.binary_join_element_wise(iso_seconds(shifted), suffix_text, "")
        return out if null is None else null_where(null, out)


def next_after(keys_p: np.ndarray, keys_t: np.ndarray, p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """For each (p, t): the first time of person p strictly after t in the sorted keys, else NEVER."""
    keys = keys_p * 2**34 + keys_t
    idx = np.searchsorted(keys, p * 2**34 + t, side="right")
    found = np.append(keys, -1)[idx]
    return np.where(found // 2**34 == p, found % 2**34, NEVER)


def last_at_or_before(keys_p: np.ndarray, keys_t: np.ndarray, p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """For each (p, t): the last time of person p at or before t in the sorted keys, else -NEVER."""
    keys = keys_p * 2**34 + keys_t
    idx = np.searchsorted(keys, p * 2**34 + t, side="right")
    found = np.insert(keys, 0, -1)[idx]
    return np.where(found // 2**34 == p, found % 2**34, -NEVER)


class Chunk:
    """Simulate persons pid0 .. pid0+n-1 and build their clean rows as Arrow tables."""

    def __init__(self, cal: Calendar, rng: np.random.Generator, pid0: int, n: int, first: bool):
        self.cal, self.rng, self.n, self.first = cal, rng, n, first
        self.pid = pid0 + np.arange(n, dtype=np.int64)
        self._persons()
        self._orders()
        self._signups()
        self._email_events()
        self._sessions()

    # persons ---------------------------------------------------------------------------------------------
    def _persons(self) -> None:
        cal, rng, n = self.cal, self.rng, self.n
        self.ptype = draw(rng, n, PERSON_TYPE_SHARES)
        self.a_day = cal.sample_days(rng, n)
        self.a_ts = cal.day_ts[self.a_day] + cal.time_of_day(rng, n)
        buyer = self.ptype == BUYER
        self.presub = buyer & (rng.random(n) < PRESUBSCRIBER_SHARE)
        self.one_timer = rng.random(n) < ONE_TIMER_SHARE
        self.dropout = rng.beta(*DROPOUT_BETA, n)
        yearly = rng.random(n) < YEARLY_BUYER_SHARE
        interval = np.clip(rng.lognormal(np.log(INTERVAL_MEDIAN_DAYS), INTERVAL_SIGMA, n), 14, 180)
        self.mu = np.where(yearly, rng.uniform(330, 390, n), interval)
        self.shape = np.where(yearly, 8.0, rng.uniform(2, 4, n))
        self.spend = rng.lognormal(np.log(SPEND_MEDIAN), SPEND_SIGMA, n)
        self.serial = rng.random(n) < SERIAL_RETURNER_SHARE
        r = rng.random(n)
        later = 1 + rng.geometric(0.5, n)
        self.acct_rank = np.where(
            r < NO_ACCOUNT_SHARE,
            -1,
            np.where(r < NO_ACCOUNT_SHARE + ACCOUNT_AT_FIRST_ORDER_SHARE, 0, later - 1),
        )
        failed_acct = (self.ptype == P_FAILED) & (rng.random(n) < 0.5)
        self.acct_rank = np.where(buyer, self.acct_rank, np.where(failed_acct, 0, -1))
        r = rng.random(n)
        self.n_vis = 1 + (r > 0.5) + (r > 0.85)
        self.vis_dev = np.stack(
            [draw(rng, n, DEVICE_W_FIRST), draw(rng, n, DEVICE_W_OTHER), draw(rng, n, DEVICE_W_OTHER)], axis=1
        )
        self.open_p = rng.beta(2.0, 3.5, n)
        self.click_p = rng.beta(2.0, 5.0, n)
        first = words(FIRST_NAMES, rng.integers(0, len(FIRST_NAMES), n))
        last = words(LAST_NAMES, rng.integers(0, len(LAST_NAMES), n))
        style = draw(rng, n, (0.45, 0.2, 0.2, 0.15))
        head = pc.if_else(pa.array(style == 3), pc.utf8_slice_codeunits(first, 0, 1), first)
        sep = words((".", "_", "", "."), style)
        domain = words(DOMAINS, draw(rng, n, DOMAIN_W))
        self.email = pc.binary_join_element_wise(head, sep, last, text(self.pid), "@", domain, "")

    def typed_email(self, person: np.ndarray, p_case: float, p_space: float) -> pa.Array:
        """The person's email as typed: sometimes capitalised or upper case, sometimes with spaces around."""
        rng, m = self.rng, len(person)
        e = self.email.take(pa.array(person))
        r = rng.random(m)
        e = pc.if_else(pa.array(r < 0.75 * p_case), pc.utf8_capitalize(e), e)
        e = pc.if_else(pa.array((r >= 0.75 * p_case) & (r < p_case)), pc.utf8_upper(e), e)
        s = rng.random(m)
        lead, trail = s < 0.5 * p_space, (s >= 0.5 * p_space) & (s < p_space)
        e = pc.if_else(pa.array(lead), pc.binary_join_element_wise(" ", e, ""), e)
        return pc.if_else(pa.array(trail), pc.binary_join_element_wise(e, " ", ""), e)

    # orders ----------------------------------------------------------------------------------------------
    def _orders(self) -> None:
        cal, rng, n = self.cal, self.rng, self.n
        start_day = self.a_day + (self.a_ts - cal.day_ts[self.a_day]) / DAY
        delay = 1 + rng.exponential(PRESUBSCRIBER_DELAY_DAYS, n)
        start_day = np.where(self.presub, start_day + delay, start_day)
        active = np.flatnonzero((self.ptype == BUYER) & (start_day < cal.n_days))
        busy = cal.days_to_busy(start_day[active])
        self.censored = np.zeros(n, bool)  # still buying at the end date (did not drop out)
        parts_p, parts_day, parts_rank = [], [], []
        rank = 0
        while active.size:
            parts_p.append(active)
            parts_day.append(np.minimum(cal.busy_to_days(busy).astype(np.int64), cal.n_days - 1))
            parts_rank.append(np.full(active.size, rank))
            stop = rng.random(active.size) < self.dropout[active]
            if rank == 0:
                stop |= self.one_timer[active]
            gap = rng.gamma(self.shape[active], self.mu[active] / self.shape[active])
            busy = busy + np.maximum(gap, MIN_GAP_DAYS)
            rank += 1
            beyond = busy >= cal.lam[-1]
            if rank >= MAX_ORDERS_PER_PERSON:
                beyond[:] = True
            self.censored[active[~stop & beyond]] = True
            keep = ~stop & ~beyond
            active, busy = active[keep], busy[keep]
        # prospects whose only orders were returned or cancelled
        failed = np.flatnonzero(self.ptype == P_FAILED)
        second = failed[rng.random(failed.size) < 0.3]
        f_p = np.concatenate([failed, second])
        f_day = np.concatenate([self.a_day[failed], self.a_day[second] + rng.integers(1, 60, second.size)])
        f_keep = f_day < cal.n_days
        f_p, f_day = f_p[f_keep], f_day[f_keep]
        person = np.concatenate(parts_p + [f_p]).astype(np.int64)
        day = np.concatenate(parts_day + [f_day]).astype(np.int64)
        rank = np.concatenate(parts_rank + [np.zeros(f_p.size, np.int64)])
        failed_row = np.concatenate([np.zeros(person.size - f_p.size, bool), np.ones(f_p.size, bool)])
        ts = cal.day_ts[day] + cal.time_of_day(rng, person.size)
        status = self._status(person, failed_row)
        if self.first:  # make the end date itself a purchase day, so the default as-of date is the end date
            done = status == 0
            if done.any() and not (done & (day == cal.n_days - 1)).any():
                j = np.flatnonzero(done)[np.argmax(ts[done])]
                ts[j] += (cal.n_days - 1 - day[j]) * DAY
        # a second order on the same day (forgotten item)
        m0 = person.size
        extra = np.flatnonzero(rng.random(m0) < SAME_DAY_EXTRA_ORDER_P)
        day_start = cal.day_ts[cal.day_index(ts[extra])]
        later = ts[extra] + rng.integers(600, 4 * HOUR, extra.size)
        earlier = np.maximum(day_start, ts[extra] - rng.integers(600, 4 * HOUR, extra.size))
        extra_ts = np.where(later < day_start + DAY, later, earlier)
        person = np.concatenate([person, person[extra]])
        rank = np.concatenate([rank, rank[extra]])
        failed_row = np.concatenate([failed_row, failed_row[extra]])
        ts = np.concatenate([ts, extra_ts])
        status = np.concatenate([status, self._status(person[m0:], failed_row[m0:])])
        m = person.size
        # account: customer_id from the order where the account was opened on (mostly; guests otherwise)
        acct_rank = self.acct_rank[person]
        opened = (acct_rank >= 0) & (rank == acct_rank)
        self.acct_ts = np.full(n, NEVER)
        np.minimum.at(self.acct_ts, person[opened], ts[opened])
        self.acct_ts = np.where(self.ptype == P_ACCOUNT, self.a_ts, self.acct_ts)
        logged_in = opened | (rng.random(m) >= GUEST_DESPITE_ACCOUNT_P)
        cust = (acct_rank >= 0) & (ts >= self.acct_ts[person]) & logged_in
        cents = np.rint(self.spend[person] * rng.lognormal(0.0, ORDER_SIGMA, m) * 100).astype(np.int64)
        cents = np.where(rng.random(m) < ZERO_AMOUNT_P, 0, np.maximum(cents, 100))
        online = rng.random(m) >= OFFLINE_ORDER_P
        order = np.argsort(ts, kind="stable")
        self.o_person, self.o_ts, self.o_status = person[order], ts[order], status[order]
        self.o_cust, self.o_cents, self.o_online = cust[order], cents[order], online[order]
        # per person: purchase history summaries
        done = self.o_status == 0
        self.n_orders = np.bincount(self.o_person, minlength=n)
        self.n_done = np.bincount(self.o_person[done], minlength=n)
        last_done = np.full(n, -NEVER)
        np.maximum.at(last_done, self.o_person[done], self.o_ts[done])
        # when interest fades: dropped-out buyers a while after their last purchase; prospects after a while
        prospect_drift = self.a_ts + (rng.uniform(30, 400, n) * DAY).astype(np.int64)
        buyer_drift = np.where(self.censored, NEVER, last_done + (1.5 * self.mu * DAY).astype(np.int64))
        self.drift = np.where(self.n_done > 0, buyer_drift, prospect_drift)
        self.done_p, self.done_ts = self.o_person[done], self.o_ts[done]
        key = np.lexsort((self.done_ts, self.done_p))
        self.done_p, self.done_ts = self.done_p[key], self.done_ts[key]

    def _status(self, person: np.ndarray, failed_row: np.ndarray) -> np.ndarray:
        r = self.rng.random(person.size)
        ret = np.where(self.serial[person], SERIAL_RETURN_P, RETURN_P)
        status = np.where(r < ret, 1, np.where(r < ret + CANCEL_P, 2, 0))
        return np.where(failed_row, np.where(r < 0.6, 1, 2), status)

    def orders_table(self, first_id: int) -> pa.Table:
        rng, m = self.rng, self.o_person.size
        self.o_ids = ids("o", first_id + np.arange(m))
        status = words(("completed", "returned", "cancelled"), self.o_status)
        r = rng.random(m)
        status = pc.if_else(pa.array(r < 0.05), pc.utf8_capitalize(status), status)
        status = pc.if_else(pa.array(r > 0.99), pc.utf8_upper(status), status)
        return pa.table(
            {
                "order_id": self.o_ids,
                "customer_id": null_where(~self.o_cust, ids("c", self.pid[self.o_person])),
                "email": self.typed_email(self.o_person, 0.08, 0.10),
                "ordered_at": self.cal.render(self.o_ts, draw(rng, m, TS_STYLE_W["orders"])),
                "status": status,
                "amount": money(self.o_cents),
            }
        )

    # newsletter ------------------------------------------------------------------------------------------
    def _signups(self) -> None:
        cal, rng, n = self.cal, self.rng, self.n
        first_order = np.full(n, NEVER)
        np.minimum.at(first_order, self.o_person, self.o_ts)
        r = rng.random(n)
        t = self.ptype
        s1 = np.full(n, NEVER)
        src = np.zeros(n, np.int64)
        news_or_contest = np.where(rng.random(n) < 0.75, 0, 1)
        checkout = (t == BUYER) & ~self.presub & (r < CHECKOUT_SIGNUP_P)
        account = (t == BUYER) & ~self.presub & ~checkout & (r < CHECKOUT_SIGNUP_P + ACCOUNT_SIGNUP_P)
        for mask, when, source in (
            (t == P_NEWSLETTER, self.a_ts, 0),
            (t == P_CONTEST, self.a_ts, 1),
            ((t == P_ACCOUNT) & (r < ACCOUNT_PROSPECT_SIGNUP_P), self.a_ts, 2),
            ((t == P_FAILED) & (r < FAILED_SIGNUP_P), first_order + 30, 3),
            (self.presub, self.a_ts, news_or_contest),
            (checkout, first_order + 30, 3),
            (account, self.acct_ts + 5, 2),
        ):
            s1 = np.where(mask, when, s1)
            src = np.where(mask, source, src)
        has1 = s1 <= cal.end_ts
        u1 = s1 + ((1 + rng.exponential(UNSUBSCRIBE_MEAN_DAYS, n)) * DAY).astype(np.int64)
        has_u1 = has1 & (rng.random(n) < UNSUBSCRIBE_P) & (u1 <= cal.end_ts)
        s2 = u1 + ((1 + rng.exponential(RESIGNUP_MEAN_DAYS, n)) * DAY).astype(np.int64)
        has2 = has_u1 & (rng.random(n) < RESIGNUP_P) & (s2 <= cal.end_ts)
        s3 = s1 + (rng.uniform(1, 200, n) * DAY).astype(np.int64)
        has3 = has1 & (rng.random(n) < DOUBLE_SIGNUP_P) & (s3 <= cal.end_ts) & (~has_u1 | (s3 < u1))
        p1, p2, p3 = np.flatnonzero(has1), np.flatnonzero(has2), np.flatnonzero(has3)
        self.s1, self.u1 = s1, np.where(has_u1, u1, NEVER)
        self.has1, self.has2, self.s2 = has1, has2, s2
        self.unsub_event = has_u1 & (rng.random(n) < UNSUBSCRIBE_EVENT_P)
        self.subscribed_at_end = (has1 & ~has_u1) | has2
        # rows (unsubscribed_at of row 1 is rendered later: the unsubscribe link may move it a little)
        self.su_person = np.concatenate([p1, p2, p3])
        self.su_ts = np.concatenate([s1[p1], s2[p2], s3[p3]])
        self.su_source = np.concatenate(
            [src[p1], np.where(rng.random(p2.size) < 0.7, 0, 3), draw(rng, p3.size, (1, 1))]
        )
        self.su_first = np.concatenate([np.ones(p1.size, bool), np.zeros(p2.size + p3.size, bool)])

    def signups_table(self, first_id: int) -> pa.Table:
        rng, m = self.rng, self.su_person.size
        unsub = np.where(self.su_first, self.u1[self.su_person], NEVER)
        order = np.argsort(self.su_ts, kind="stable")
        person, ts, unsub = self.su_person[order], self.su_ts[order], unsub[order]
        style = draw(rng, m, TS_STYLE_W["newsletter_signups"])
        return pa.table(
            {
                "signup_id": ids("n", first_id + np.arange(m)),
                "email": self.typed_email(person, 0.10, 0.08),
                "signed_up_at": self.cal.render(ts, style),
                "source": words(SOURCES, self.su_source[order]),
                "unsubscribed_at": self.cal.render(np.minimum(unsub, self.cal.end_ts), style, unsub == NEVER),
            }
        )

    # email events ----------------------------------------------------------------------------------------
    def _email_events(self) -> None:
        cal, rng, n = self.cal, self.rng, self.n
        p1, p2 = np.flatnonzero(self.has1), np.flatnonzero(self.has2)
        ip = np.concatenate([p1, p2])
        lo = np.concatenate([self.s1[p1], self.s2[p2]])
        hi = np.concatenate([np.minimum(self.u1[p1], cal.end_ts + 1), np.full(p2.size, cal.end_ts + 1)])
        unsub_group = np.concatenate([self.unsub_event[p1], np.zeros(p2.size, bool)])
        w_lo = np.searchsorted(cal.send_ts, lo, side="left")
        w_hi = np.searchsorted(cal.send_ts, hi, side="left")
        cnt = np.maximum(w_hi - w_lo, 0)
        total = int(cnt.sum())
        grp = np.repeat(np.arange(ip.size), cnt)
        ends = np.cumsum(cnt)
        week = w_lo[grp] + np.arange(total) - np.repeat(ends - cnt, cnt)
        deliv = cal.send_ts[week] + rng.integers(0, HOUR, total)
        # the unsubscribe link is clicked in the last campaign received before unsubscribed_at
        forced = np.zeros(total, bool)
        g_unsub = np.flatnonzero(unsub_group & (cnt > 0))
        last = ends[g_unsub] - 1
        forced[last] = True
        hi[g_unsub] = np.maximum(hi[g_unsub], deliv[last] + rng.integers(60, 2 * HOUR, g_unsub.size))
        self.u1[ip[g_unsub]] = hi[g_unsub]
        keep = (deliv < hi[grp]) & (deliv <= cal.end_ts) & ((rng.random(total) < CAMPAIGN_REACH) | forced)
        e_p, e_ts, e_week, e_forced, e_grp = ip[grp][keep], deliv[keep], week[keep], forced[keep], grp[keep]
        order = np.lexsort((e_ts, e_p))
        e_p, e_ts, e_week, e_forced, e_grp = (a[order] for a in (e_p, e_ts, e_week, e_forced, e_grp))
        # hard bounces: the first send after the address died bounces, nothing is sent afterwards
        hard = rng.random(n) < HARD_BOUNCE_PERSON_P
        dead = self.s1 + (rng.random(n) * np.maximum(cal.end_ts - self.s1, 0)).astype(np.int64)
        after = hard[e_p] & (e_ts >= dead[e_p])
        prev_after = np.zeros_like(after)
        prev_after[1:] = after[:-1] & (e_p[1:] == e_p[:-1])
        first_after = after & ~prev_after
        keep = ~after | first_after
        etype = np.where(first_after, BOUNCE, DELIVERED)
        soft = (etype == DELIVERED) & ~e_forced & (rng.random(e_p.size) < SOFT_BOUNCE_P)
        etype = np.where(soft, BOUNCE, etype)
        cols = (e_p, e_ts, e_week, e_forced, e_grp, etype)
        e_p, e_ts, e_week, e_forced, e_grp, etype = (a[keep] for a in cols)
        # unsubscribe events (only when the campaign really arrived)
        u = e_forced & (etype == DELIVERED)
        u_p, u_ts, u_week = e_p[u], hi[e_grp[u]], e_week[u]
        # opens and clicks, fading after the person drifted away
        dl = np.flatnonzero(etype == DELIVERED)
        fade = np.exp(-np.maximum(e_ts[dl] - self.drift[e_p[dl]], 0) / (FADE_DAYS * DAY))
        dl = dl[rng.random(dl.size) < self.open_p[e_p[dl]] * fade]
        delay = np.clip(rng.lognormal(np.log(3 * HOUR), 1.3, dl.size), 30, 10 * DAY).astype(np.int64)
        o_p, o_ts, o_week = e_p[dl], e_ts[dl] + delay, e_week[dl]
        ok = o_ts <= cal.end_ts
        o_p, o_ts, o_week = o_p[ok], o_ts[ok], o_week[ok]
        c = rng.random(o_p.size) < self.click_p[o_p]
        c_p, c_ts, c_week = o_p[c], o_ts[c] + rng.integers(3, 900, int(c.sum())), o_week[c]
        ok = c_ts <= cal.end_ts
        c_p, c_ts, c_week = c_p[ok], c_ts[ok], c_week[ok]
        self.ev_person = np.concatenate([e_p, o_p, c_p, u_p])
        self.ev_ts = np.concatenate([e_ts, o_ts, c_ts, u_ts])
        self.ev_week = np.concatenate([e_week, o_week, c_week, u_week])
        self.ev_type = np.concatenate([etype, np.full(o_p.size, OPEN), np.full(c_p.size, CLICK)])
        self.ev_type = np.concatenate([self.ev_type, np.full(u_p.size, UNSUBSCRIBE)])
        key = np.lexsort((c_ts, c_p))
        self.click_person, self.click_ts = c_p[key], c_ts[key]

    def events_table(self, first_id: int) -> pa.Table:
        m = self.ev_person.size
        order = np.argsort(self.ev_ts, kind="stable")
        person, ts = self.ev_person[order], self.ev_ts[order]
        return pa.table(
            {
                "event_id": ids("e", first_id + np.arange(m)),
                "email": self.typed_email(person, 0.03, 0.0),
                "campaign_id": self.cal.campaign_ids.take(pa.array(self.ev_week[order])),
                "event_type": words(EVENT_TYPES, self.ev_type[order]),
                "occurred_at": self.cal.render(ts, draw(self.rng, m, TS_STYLE_W["email_events"])),
            }
        )

    # sessions --------------------------------------------------------------------------------------------
    def _slot(self, person: np.ndarray) -> np.ndarray:
        r = self.rng.random(person.size)
        return np.minimum((r > 0.65).astype(np.int64) + (r > 0.9), self.n_vis[person] - 1)

    def _logged_in(self, person: np.ndarray, start: np.ndarray, p: float) -> np.ndarray:
        return (self.acct_ts[person] <= start) & (self.rng.random(person.size) < p)

    def _within(self, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
        return lo + (self.rng.random(lo.size) * np.maximum(hi - lo, 0)).astype(np.int64)

    def _sessions(self) -> None:
        cal, rng, n = self.cal, self.rng, self.n
        parts: list[dict[str, np.ndarray]] = []

        def add(person, start, dur, pv, adds=None, cart=None, login=None, ident=None, **given):
            """One group of sessions; unset columns: no cart, anonymous, non-email channel, random device."""
            k = person.size
            no = np.zeros(k, bool)
            row = {"person": person, "start": start, "dur": dur, "pv": pv}
            row["adds"] = np.zeros(k, np.int64) if adds is None else adds
            row["cart"] = np.full(k, -1) if cart is None else cart  # cents, -1 = null
            row["login"] = no if login is None else login
            row["ident"] = no if ident is None else ident
            row["channel"] = given["channel"] if "channel" in given else draw(rng, k, CHANNEL_W_NON_EMAIL)
            row["slot"] = given["slot"] if "slot" in given else self._slot(person)
            row["order_row"] = given.get("order_row", np.full(k, -1))
            row["end_known"] = given.get("end_known", no)
            row["anon"] = given.get("anon", no)
            parts.append(row)

        def browse_len(k):
            return np.maximum(10, rng.lognormal(np.log(240), 0.9, k)).astype(np.int64)

        # converting sessions (one per online order), some preceded by a cart session within the hour
        row = np.flatnonzero(self.o_online)
        m = row.size
        p, ts = self.o_person[row], self.o_ts[row]
        precart = (self.o_status[row] == 0) & (rng.random(m) < PRECART_P)
        lead_time = np.where(precart, rng.integers(60, 600, m), rng.integers(60, 45 * 60, m))
        start = np.maximum(ts - lead_time, cal.start_ts)
        slot = self._slot(p)
        channel = draw(rng, m, CHANNEL_W_NON_EMAIL)
        clicked = ts - last_at_or_before(self.click_person, self.click_ts, p, ts) <= 2 * DAY
        channel = np.where(clicked & (rng.random(m) < 0.7), EMAIL_CHANNEL, channel)
        add(
            p,
            start,
            ts - start + rng.integers(30, 480, m),
            3 + rng.poisson(7, m),
            1 + rng.poisson(1.2, m),
            self.o_cents[row],
            self.o_cust[row],
            np.ones(m, bool),
            channel=channel,
            slot=slot,
            order_row=row,
        )
        k = int(precart.sum())
        c_end = start[precart] - rng.integers(60, 1800, k)
        c_dur = browse_len(k)
        c_p = p[precart]
        login = self.o_cust[row][precart] & (rng.random(k) < 0.5)
        cart = (self.o_cents[row][precart] * rng.uniform(0.6, 1.1, k)).astype(np.int64)
        add(
            c_p,
            c_end - c_dur,
            c_dur,
            2 + rng.poisson(4, k),
            1 + rng.poisson(1.0, k),
            cart,
            login,
            login,
            slot=slot[precart],
            end_known=np.ones(k, bool),
        )
        # research sessions before orders
        cnt = rng.poisson(RESEARCH_SESSIONS_PER_ORDER, self.o_person.size)
        rows = np.repeat(np.arange(self.o_person.size), cnt)
        p = self.o_person[rows]
        start = self.o_ts[rows] - rng.integers(2 * HOUR, 14 * DAY, rows.size)
        login = self._logged_in(p, start, 0.3)
        add(
            p,
            start,
            browse_len(rows.size),
            1 + rng.poisson(4, rows.size),
            login=login,
            ident=login | (rng.random(rows.size) < 0.03),
        )
        # browsing over the active life of every person
        lo = self.a_ts - 7 * DAY
        hi = np.minimum(cal.end_ts, np.minimum(self.drift, cal.end_ts) + 30 * DAY)
        cnt = rng.poisson(np.maximum(hi - lo, 0) / DAY * BROWSE_RATE_PER_DAY)
        p = np.repeat(np.arange(n), cnt)
        start = self._within(lo[p], hi[p])
        login = self._logged_in(p, start, 0.3)
        add(
            p,
            start,
            browse_len(p.size),
            1 + rng.poisson(4, p.size),
            login=login,
            ident=login | (rng.random(p.size) < 0.03),
        )
        # the first contact of prospects and pre-subscribers (sign-up form, registration, contact form)
        t = self.ptype
        p = np.flatnonzero(((t != BUYER) & (t != P_FAILED)) | self.presub)
        start = np.maximum(self.a_ts[p] - rng.integers(30, 900, p.size), cal.start_ts)
        login = t[p] == P_ACCOUNT
        ident = login | (t[p] == P_IDENTIFIED) | (rng.random(p.size) < 0.5)
        add(p, start, browse_len(p.size), 1 + rng.poisson(3, p.size), login=login, ident=ident)
        # email clicks open a session
        p = self.click_person
        start = self.click_ts + rng.integers(1, 30, p.size)
        login = self._logged_in(p, start, 0.4)
        add(
            p,
            start,
            browse_len(p.size),
            1 + rng.poisson(3, p.size),
            login=login,
            ident=np.ones(p.size, bool),
            channel=np.full(p.size, EMAIL_CHANNEL),
        )
        # abandoned carts: over the active life, plus some in the last three days
        cnt = rng.poisson(CARTS_PER_ORDER * self.n_orders + CARTS_PER_PERSON)
        p = np.repeat(np.arange(n), cnt)
        start = self._within(lo[p], hi[p])
        dur = browse_len(p.size)
        warm = self.drift > cal.end_ts - 30 * DAY
        recent_p = np.where(self.subscribed_at_end & warm, RECENT_CART_P_SUBSCRIBED, RECENT_CART_P_OTHER)
        r = np.flatnonzero(rng.random(n) < recent_p)
        r_dur = browse_len(r.size)
        r_end = self._within(np.full(r.size, cal.end_ts - 3 * DAY), np.full(r.size, cal.end_ts - 600))
        r_start = r_end - r_dur
        p, start, dur = np.concatenate([p, r]), np.concatenate([start, r_start]), np.concatenate([dur, r_dur])
        ok = next_after(self.done_p, self.done_ts, p, start) > start + dur + 2 * HOUR
        p, start, dur = p[ok], start[ok], dur[ok]
        k = p.size
        login = self._logged_in(p, start, 0.5)
        cart = (self.spend[p] * rng.lognormal(0, 0.4, k) * 100).astype(np.int64)
        add(
            p,
            start,
            dur,
            2 + rng.poisson(5, k),
            1 + rng.poisson(1.2, k),
            cart,
            login,
            login | (rng.random(k) < 0.1),
        )
        # never-identified extra devices (anonymous-only visitors)
        hosts = np.flatnonzero(rng.random(n) < ANON_VISITOR_SHARE)
        self.anon_dev = draw(rng, n, DEVICE_W_OTHER)
        p = np.repeat(hosts, 1 + rng.poisson(0.8, hosts.size))
        k = p.size
        start = cal.day_ts[cal.sample_days(rng, k)] + cal.time_of_day(rng, k)
        has_cart = rng.random(k) < ANON_CART_P
        adds = np.where(has_cart, 1 + rng.poisson(1.0, k), 0)
        cart = np.where(has_cart, (rng.lognormal(np.log(SPEND_MEDIAN), 0.6, k) * 100).astype(np.int64), -1)
        add(p, start, browse_len(k), 1 + rng.poisson(3, k), adds, cart, anon=np.ones(k, bool))

        s = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
        ok = (s["start"] >= cal.start_ts) & (s["start"] <= cal.end_ts)
        s = {key: v[ok] for key, v in s.items()}
        order = np.argsort(s["start"], kind="stable")
        self.sess = {key: v[order] for key, v in s.items()}

    def sessions_table(self, first_id: int) -> pa.Table:
        cal, rng, s = self.cal, self.rng, self.sess
        m = s["person"].size
        p = s["person"]
        end = s["start"] + s["dur"]
        end_null = (~s["end_known"] & (rng.random(m) < SESSION_END_UNKNOWN_P)) | (end > cal.end_ts)
        visitor = np.where(s["anon"], self.pid[p] * 4 + 3, self.pid[p] * 4 + s["slot"])
        dev = np.where(s["anon"], self.anon_dev[p], self.vis_dev[p, np.minimum(s["slot"], 2)])
        device = words(DEVICES, dev)
        r = rng.random(m)
        device = pc.if_else(pa.array(r < 0.03), pc.utf8_capitalize(device), device)
        device = pc.if_else(pa.array(r > 0.99), pc.utf8_upper(device), device)
        style = draw(rng, m, TS_STYLE_W["sessions"])
        order_row = s["order_row"]
        if len(self.o_ids):
            order_id = null_where(order_row < 0, self.o_ids.take(pa.array(np.maximum(order_row, 0))))
        else:
            order_id = pa.nulls(m, pa.string())
        return pa.table(
            {
                "session_id": ids("s", first_id + np.arange(m)),
                "visitor_id": visitor_ids(visitor),
                "customer_id": null_where(~s["login"], ids("c", self.pid[p])),
                "email": null_where(~(s["ident"] | s["login"]), self.typed_email(p, 0.06, 0.04)),
                "started_at": cal.render(s["start"], style),
                "ended_at": cal.render(np.minimum(end, cal.end_ts), style, end_null),
                "device": device,
                "channel": words(CHANNELS, s["channel"]),
                "page_views": text(s["pv"]),
                "cart_adds": text(s["adds"]),
                "cart_value": null_where(s["cart"] < 0, money(np.maximum(s["cart"], 0))),
                "order_id": order_id,
            }
        )


def visitor_ids(numbers: np.ndarray) -> pa.Array:
    """Cookie-like ids: 'v' + 10 hex digits of a bijection of the visitor number (unique, not sequential)."""
    x = (numbers * 0x9E3779B97 + 0x5DEECE66D) & (2**40 - 1)
    hexdigits = np.frombuffer(b"0123456789abcdef", np.uint8)
    buf = np.empty((numbers.size, 11), np.uint8)
    buf[:, 0] = ord("v")
    for i in range(10):
        buf[:, 10 - i] = hexdigits[(x >> (4 * i)) & 15]
    return bytes_to_text(buf)


# --- bad rows -----------------------------------------------------------------------------------------------
def _shift_iso(value: str, seconds: int) -> str:
    """Shift an ISO-8601 text by some seconds, keeping its style (naive, Z or offset)."""
    zulu = value.endswith("Z")
    moment = dt.datetime.fromisoformat(value) + dt.timedelta(seconds=seconds)
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + "Z" if zulu else moment.isoformat()


def _bad_email(email: str, rng: np.random.Generator) -> str:
    local, _, domain = email.strip().lower().partition("@")
    variants = (f"{local}.{domain}", f"@{domain}", f"{local}@", f"{local} at {domain}")
    return variants[int(rng.integers(0, len(variants)))]


def make_bad_rows(
    dataset: str, clean: pa.Table, reasons: list[str], rng: np.random.Generator, fresh_ids: np.ndarray
) -> tuple[pa.Table, np.ndarray]:
    """One bad row per reason, each from a distinct clean template row; returns the rows and positions."""
    k, n_clean = len(reasons), clean.num_rows
    template = rng.permutation(n_clean)[:k]
    rows = clean.take(pa.array(template)).to_pylist()
    id_col = ID_COLUMN[dataset]
    emails = [e for e in clean.column("email").slice(0, 200).to_pylist() if e] or ["someone@example.com"]
    position = rng.uniform(0, n_clean, k)
    fresh = iter(ids(ID_PREFIX[dataset], fresh_ids).to_pylist())

    def pick(options):
        return options[int(rng.integers(0, len(options)))]

    for i, (row, reason) in enumerate(zip(rows, reasons, strict=True)):
        if not reason.startswith("duplicate_"):
            row[id_col] = next(fresh)
        kind, _, column = reason.partition("_")
        if kind == "missing":
            row[column] = None
        elif kind == "invalid" and column == "email":
            row["email"] = _bad_email(row["email"] or pick(emails), rng)
        elif kind == "invalid" and column in ("status", "event_type"):
            row[column] = pick(INVALID_STATUSES if column == "status" else INVALID_EVENT_TYPES)
        elif kind == "invalid" and column.endswith("_at"):
            row[column] = pick(INVALID_TIMESTAMPS)
        elif kind == "future":
            row[column] = pick(FUTURE_TIMESTAMPS)
        elif kind == "invalid":
            row[column] = pick(INVALID_INTEGERS if column in INTEGER_COLUMNS else INVALID_DECIMALS)
        elif kind == "negative":
            whole = column in INTEGER_COLUMNS
            row[column] = str(-int(rng.integers(1, 6))) if whole else f"-{rng.uniform(1, 150):.2f}"
        elif kind == "duplicate":
            ts_col, sign = DUPLICATE_SHIFT[dataset]
            most = 600 if dataset == "email_events" else 6 * HOUR
            shift = int(rng.integers(1 if dataset == "email_events" else 60, most))
            row[ts_col] = _shift_iso(row[ts_col], sign * shift)
            if dataset == "sessions" and row["ended_at"]:
                row["ended_at"] = _shift_iso(row["ended_at"], shift)
            position[i] = rng.uniform(template[i] + 0.5, n_clean)  # after the original row in the file
        else:  # pragma: no cover - every reason code is handled above
            raise ValueError(reason)
    return pa.Table.from_pylist(rows, schema=clean.schema), position


class BadRowPlanner:
    """Spreads round-half-up(share x clean rows) bad rows per dataset over the chunks; rotates reasons."""

    def __init__(self, share: float, seed: int):
        self.share = share
        rng = np.random.default_rng([seed, 7])
        self.order = {d: [BAD_REASONS[d][i] for i in rng.permutation(len(BAD_REASONS[d]))] for d in DATASETS}
        self.clean = dict.fromkeys(DATASETS, 0)
        self.bad = dict.fromkeys(DATASETS, 0)
        self.counts = {d: dict.fromkeys(BAD_REASONS[d], 0) for d in DATASETS}

    def apply(self, dataset: str, clean: pa.Table, rng: np.random.Generator) -> pa.Table:
        self.clean[dataset] += clean.num_rows
        target = math.floor(self.share * self.clean[dataset] + 0.5)
        k = min(target - self.bad[dataset], clean.num_rows)
        if k <= 0:
            return clean
        cycle = self.order[dataset]
        reasons = [cycle[(self.bad[dataset] + i) % len(cycle)] for i in range(k)]
        fresh_ids = BAD_ID_BASE + 1 + self.bad[dataset] + np.arange(k)
        bad, position = make_bad_rows(dataset, clean, reasons, rng, fresh_ids)
        self.bad[dataset] += k
        for reason in reasons:
            self.counts[dataset][reason] += 1
        keys = np.concatenate([np.arange(clean.num_rows, dtype=np.float64), position])
        return pa.concat_tables([clean, bad]).take(pa.array(np.argsort(keys, kind="stable")))


# --- output -------------------------------------------------------------------------------------------------
CSV_NEEDS_QUOTES = r'[",\r\n]|^\s|\s$|^$'  # quoted: separators, quotes, surrounding spaces, empty text
CSV_BATCH_ROWS = 200_000


def csv_lines(batch: pa.RecordBatch) -> pa.Buffer:
    """RFC 4180 lines for a batch of string columns: null -> empty field, quotes only where needed."""
    fields = []
    for column in batch.columns:
        needs = pc.fill_null(pc.match_substring_regex(column, CSV_NEEDS_QUOTES), False)
        if pc.any(needs).as_py():  # rare: quote just those values
            few = column.filter(needs)
            quoted = pc.binary_join_element_wise('"', pc.replace_substring(few, '"', '""'), '"', "")
            column = pc.replace_with_mask(column, needs, quoted)
        fields.append(pc.fill_null(column, ""))
    fields[-1] = pc.binary_join_element_wise(fields[-1], "\n", "")
    lines = pc.binary_join_element_wise(*fields, ",")
    offsets = np.frombuffer(lines.buffers()[1], np.int32, len(lines) + 1, lines.offset * 4)
    return lines.buffers()[2][offsets[0] : offsets[-1]]


class DatasetWriter:
    """Appends chunks to NAME.csv or NAME.parquet (via a temporary file, renamed when complete)."""

    def __init__(self, out: Path, name: str, fmt: str):
        self.path = out / f"{name}.{fmt}"
        self.stale = out / f"{name}.{'parquet' if fmt == 'csv' else 'csv'}"
        self.tmp = out / f".{name}.{fmt}.partial"
        self.schema = pa.schema([(c, pa.string()) for c in COLUMNS[name]])
        if fmt == "csv":
            self.file = open(self.tmp, "wb")  # noqa: SIM115 - closed in close()
            self.file.write((",".join(COLUMNS[name]) + "\n").encode())
            self.parquet = None
        else:
            self.parquet = pq.ParquetWriter(str(self.tmp), self.schema, compression="zstd")
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if not table.num_rows:
            return
        table = table.select(list(self.schema.names)).cast(self.schema)
        if self.parquet is None:
            for batch in table.to_batches(max_chunksize=CSV_BATCH_ROWS):  # string offsets are 32-bit
                self.file.write(csv_lines(batch))
        else:
            self.parquet.write_table(table)
        self.rows += table.num_rows

    def close(self) -> None:
        if self.parquet is None:
            self.file.close()
        else:
            self.parquet.close()
        os.replace(self.tmp, self.path)
        if self.stale.exists():
            self.stale.unlink()


def generate(args: argparse.Namespace) -> dict:
    started = time.perf_counter()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    cal = Calendar(args.end_date, args.years)
    writers = {name: DatasetWriter(out, name, args.format) for name in DATASETS}
    planner = BadRowPlanner(args.dirty_share, args.seed)
    next_id = dict.fromkeys(DATASETS, 1)
    for index, pid0 in enumerate(range(0, args.customers, args.chunk_size)):
        n = min(args.chunk_size, args.customers - pid0)
        chunk = Chunk(cal, np.random.default_rng([args.seed, index]), pid0, n, first=index == 0)
        bad_rng = np.random.default_rng([args.seed, index, 1])
        builders = {
            "orders": chunk.orders_table,  # first: sessions refer to its order ids
            "sessions": chunk.sessions_table,
            "newsletter_signups": chunk.signups_table,
            "email_events": chunk.events_table,
        }
        for name, build in builders.items():
            clean = build(next_id[name])
            next_id[name] += clean.num_rows
            writers[name].write(planner.apply(name, clean, bad_rng))
        del chunk
    for writer in writers.values():
        writer.close()
    elapsed = round(time.perf_counter() - started, 2)
    summary = {
        "seed": args.seed,
        "customers": args.customers,
        "format": args.format,
        "end_date": args.end_date.isoformat(),
        "years": args.years,
        "chunk_size": args.chunk_size,
        "dirty_share": args.dirty_share,
        "rows": {name: writers[name].rows for name in DATASETS},
        "bad_rows": planner.counts,
        "elapsed_seconds": elapsed,
    }
    (out / "generation_summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Generate the raw input of the customer_lifecycle pipeline (orders, sessions, "
        "newsletter_signups, email_events) for a simulated online shop. Deterministic: the same arguments "
        "always give the same files.",
        epilog="Writes orders, sessions, newsletter_signups and email_events (.csv or .parquet) and "
        "generation_summary.json (row counts, bad rows per reason code). See docs/data-generator.md.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add = parser.add_argument
    add("--out", metavar="DIR", default="data/generated", help="output directory (created if missing)")
    add("--customers", metavar="N", type=int, default=2000, help="number of known persons to simulate")
    add("--seed", metavar="S", type=int, default=42, help="random seed")
    add("--format", choices=("csv", "parquet"), default="csv", help="file format")
    add(
        "--dirty-share",
        metavar="F",
        type=float,
        default=0.01,
        help="bad rows to add per dataset, as a share of its clean rows (0 = none, at most 0.5)",
    )
    add(
        "--end-date",
        metavar="YYYY-MM-DD",
        type=dt.date.fromisoformat,
        default=dt.date(2026, 10, 31),
        help="last day of the simulated history (YYYY-MM-DD); nothing clean happens after it",
    )
    add("--years", metavar="N", type=int, default=3, help="length of the simulated history in years")
    add(
        "--chunk-size",
        metavar="N",
        type=int,
        default=50_000,
        help="customers simulated and written per chunk (memory bound)",
    )
    args = parser.parse_args(argv)
    if args.customers < 1:
        parser.error("--customers must be at least 1")
    if args.chunk_size < 1:
        parser.error("--chunk-size must be at least 1")
    if not 0 <= args.dirty_share <= 0.5:
        parser.error("--dirty-share must be between 0 and 0.5")
    if not 1 <= args.years <= 20:
        parser.error("--years must be between 1 and 20")
    if args.end_date.year < 2000:
        parser.error("--end-date must be in year 2000 or later")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    summary = generate(args)
    out = Path(args.out)
    print(f"Generated {args.customers} customers into {out} ({args.format}, seed {args.seed}):")
    for name in DATASETS:
        size = (out / f"{name}.{args.format}").stat().st_size
        bad = sum(summary["bad_rows"][name].values())
        print(f"  {name:<20} {summary['rows'][name]:>11,} rows ({bad:,} bad) {size / 2**20:>9.2f} MiB")
    print(f"  elapsed {summary['elapsed_seconds']} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
