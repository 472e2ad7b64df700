"""A small, clean-ish raw data set for the driver tests, written by code so its shape is easy to read.

24 persons over 2026: some buy every ~30 days, some once, some stopped; a few only signed up. Exactly one
orders row is bad (an amount that is not a number), so the quarantine is never empty but stays small.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

from lifecycle_pipeline.inputs import required_columns

AS_OF = dt.date(2026, 10, 31)
BAD_ORDER_ID = "o-bad"
# The contract's columns, from the same source definition the pipeline checks raw files against.
COLUMNS = required_columns()


def _write(path: Path, header: list[str], rows: list[list]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)


def _orders() -> list[list]:
    rows = []
    number = 0

    def add(person: int, day: dt.date, amount: str, status: str = "completed") -> None:
        nonlocal number
        number += 1
        rows.append([f"o{number}", f"c{person}", f"person{person}@example.com", f"{day}T10:00:00", status, amount])

    for person in range(1, 7):  # regulars: every 30 days since May, last order within the month
        day = dt.date(2026, 5, 1) + dt.timedelta(days=person)
        while day <= AS_OF:
            add(person, day, "40.00")
            day += dt.timedelta(days=30)
    for person in range(7, 13):  # one purchase each, spread over the year
        add(person, dt.date(2026, 1, 10) + dt.timedelta(days=25 * (person - 7)), "25.50")
    for person in range(13, 19):  # bought every 20 days in spring, then stopped
        for k in range(4):
            add(person, dt.date(2026, 2, 1) + dt.timedelta(days=20 * k + person), "60.00")
    add(19, dt.date(2026, 9, 1), "80.00", "returned")  # only a returned order: a prospect
    add(20, dt.date(2026, 11, 5), "99.00")  # after the as-of date: invisible to it
    rows.append([BAD_ORDER_ID, "c21", "person21@example.com", "2026-06-01T10:00:00", "completed", "twelve"])
    return rows


def write_raw(folder: Path) -> Path:
    """Write orders, sessions, newsletter_signups and email_events CSVs into folder; return it."""
    folder.mkdir(parents=True, exist_ok=True)
    orders = _orders()
    _write(folder / "orders.csv", COLUMNS["orders"], orders)
    sessions = []
    for i, order in enumerate(orders[:40], start=1):
        sessions.append(
            [
                f"s{i}",
                f"v{order[1]}",
                order[1],
                order[2],
                order[3],
                order[3],
                "mobile",
                "email",
                4,
                1,
                order[5],
                order[0],
            ]
        )
    # Two open carts on the day before the as-of date, by subscribed persons who came from an email (so they are
    # warm, not archived: an archived person gets no reminder).
    for i, person in enumerate((22, 23), start=1):
        sessions.append(
            [
                f"cart{i}",
                f"vc{person}",
                "",
                f"person{person}@example.com",
                "2026-10-30T12:00:00",
                "2026-10-30T12:20:00",
                "desktop",
                "email",
                6,
                2,
                "55.00",
                "",
            ]
        )
    _write(folder / "sessions.csv", COLUMNS["sessions"], sessions)
    signups = [[f"n{p}", f"person{p}@example.com", "2026-01-05T08:00:00", "newsletter", ""] for p in range(1, 25)]
    _write(folder / "newsletter_signups.csv", COLUMNS["newsletter_signups"], signups)
    events = []
    for p in range(1, 25):
        for k in range(4):
            day = AS_OF - dt.timedelta(days=10 + 14 * k)
            events.append([f"e{p}-{k}", f"person{p}@example.com", f"cmp{k}", "delivered", f"{day}T07:00:00"])
        if p % 3 == 0:
            events.append([f"e{p}-open", f"person{p}@example.com", "cmp0", "open", f"{AS_OF}T08:00:00"])
    _write(folder / "email_events.csv", COLUMNS["email_events"], events)
    return folder
