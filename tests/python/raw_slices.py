"""Raw data that arrives day by day, for the incremental-refresh and history tests.

A `RawHistory` holds raw rows per dataset, each with the day it shows up in the export (`arrives_on`) and,
for a row edited in place, the day it is replaced (`replaced_on`). `write_slice(day)` writes the raw folder
as the shop's export looked on that day: the files always hold the whole history seen so far.
`write_folder_slice(day, since)` instead adds one file per dataset with only the rows that arrived since.
"""

from __future__ import annotations

import csv
import datetime as dt
import random
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from lifecycle_pipeline.inputs import required_columns

# The contract's columns, from the same source definition the pipeline checks raw files against.
COLUMNS = required_columns()

# Columns a run sets to its own start time: the only ones allowed to differ from a full build.
LOAD_TIME_COLUMNS = {"_loaded_at", "loaded_at", "quarantined_at", "attributed_at"}
COMPARED_SCHEMAS = ("staging", "quarantine", "intermediate", "marts")


@dataclass
class RawRow:
    values: dict
    arrives_on: dt.date
    replaced_on: dt.date | None = None


@dataclass
class RawHistory:
    rows: dict[str, list[RawRow]] = field(default_factory=lambda: {name: [] for name in COLUMNS})

    def add(self, dataset: str, arrives_on: dt.date, replaced_on: dt.date | None = None, **values) -> None:
        unknown = set(values) - set(COLUMNS[dataset])
        assert not unknown, unknown
        self.rows[dataset].append(RawRow(values, arrives_on, replaced_on))

    def write_slice(self, raw_dir: Path, day: dt.date) -> dict[str, int]:
        """Write every dataset as exported on `day`; return the number of rows per dataset."""
        raw_dir.mkdir(parents=True, exist_ok=True)
        counts = {}
        for dataset, columns in COLUMNS.items():
            visible = [
                row for row in self.rows[dataset] if row.arrives_on <= day and (row.replaced_on or dt.date.max) > day
            ]
            with open(raw_dir / f"{dataset}.csv", "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(columns)
                for row in visible:
                    writer.writerow(["" if row.values.get(c) is None else row.values[c] for c in columns])
            counts[dataset] = len(visible)
        return counts

    def write_folder_slice(self, raw_dir: Path, day: dt.date, since: dt.date | None) -> dict[str, int]:
        """Add one file per dataset, NAME/<day>.csv, holding the rows that arrived after `since` up to `day`, as an
        EL tool lands a daily increment; return the number of rows per dataset in all files so far. A row edited
        in place arrives as a new row in a later file (the file never changes), so the old row stays too."""
        counts = {}
        for dataset, columns in COLUMNS.items():
            folder = raw_dir / dataset
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / f"{day.isoformat()}.csv", "w", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(columns)
                for row in self.rows[dataset]:
                    if (since is None or row.arrives_on > since) and row.arrives_on <= day:
                        writer.writerow(["" if row.values.get(c) is None else row.values[c] for c in columns])
            counts[dataset] = sum(1 for row in self.rows[dataset] if row.arrives_on <= day)
        return counts


def stamp(day: dt.date, hour: int, minute: int = 0) -> str:
    return dt.datetime.combine(day, dt.time(hour, minute)).isoformat()


def generated_history(start: dt.date, days: int, people: int = 25, seed: int = 7) -> RawHistory:
    """A small shop: every day some people order, browse, sign up and get emails; plus the awkward cases an
    incremental run must get right (late rows, in-place edits, duplicates, rows without an id, bad rows)."""
    rng = random.Random(seed)
    history = RawHistory()
    emails = [f"person{n:02d}@example.com" for n in range(people)]
    order_no = session_no = event_no = 0
    for offset in range(days):
        day = start + dt.timedelta(days=offset)
        for email in rng.sample(emails, 4):
            order_no += 1
            history.add(
                "orders",
                day,
                order_id=f"o{order_no}",
                customer_id=f"c{emails.index(email)}" if rng.random() < 0.7 else None,
                email=email.upper() if rng.random() < 0.2 else email,
                ordered_at=stamp(day, rng.randint(8, 20), rng.randint(0, 59)),
                status=rng.choice(["completed", "completed", "completed", "returned", "cancelled"]),
                amount=f"{rng.randint(5, 200)}.{rng.randint(0, 99):02d}",
            )
        for email in rng.sample(emails, 6):
            session_no += 1
            started = dt.datetime.combine(day, dt.time(rng.randint(0, 22), rng.randint(0, 59)))
            history.add(
                "sessions",
                day,
                session_id=f"s{session_no}",
                visitor_id=f"v{emails.index(email)}",
                customer_id=None,
                email=email if rng.random() < 0.5 else None,
                started_at=started.isoformat(),
                ended_at=(started + dt.timedelta(minutes=rng.randint(1, 50))).isoformat(),
                device=rng.choice(["mobile", "desktop", "app"]),
                channel=rng.choice(["email", "organic", "paid"]),
                page_views=str(rng.randint(1, 12)),
                cart_adds=str(rng.randint(0, 2)),
                cart_value=str(rng.randint(0, 90)),
                order_id=None,
            )
        for email in rng.sample(emails, 3):
            event_no += 1
            history.add(
                "email_events",
                day,
                event_id=f"e{event_no}",
                email=email,
                campaign_id=f"cmp{offset // 3}",
                event_type=rng.choice(["delivered", "open", "click"]),
                occurred_at=stamp(day, rng.randint(6, 23)),
            )
        signer = emails[offset % people]
        history.add(
            "newsletter_signups",
            day,
            signup_id=f"n{offset}",
            email=signer,
            signed_up_at=stamp(day, 9),
            source="newsletter",
            unsubscribed_at=None,
        )
    return history


def add_awkward_cases(history: RawHistory, start: dt.date) -> None:
    """Rows an incremental run must handle exactly like a full build (dates relative to `start`)."""

    def day(n: int) -> dt.date:
        return start + dt.timedelta(days=n)

    # Late-arriving order: placed on day 1, first exported on day 8 (a week late).
    history.add(
        "orders",
        day(8),
        order_id="late1",
        customer_id="c1",
        email="person01@example.com",
        ordered_at=stamp(day(1), 10),
        status="completed",
        amount="42.00",
    )
    # Late-arriving order: placed on day 6, exported on day 8.
    history.add(
        "orders",
        day(8),
        order_id="late2",
        customer_id=None,
        email="person02@example.com",
        ordered_at=stamp(day(6), 23),
        status="completed",
        amount="13.00",
    )
    # Status change by a later export row: placed day 0 as completed, returned on day 7 (latest ordered_at wins).
    for values, arrives in [(("completed", stamp(day(0), 11)), day(0)), (("returned", stamp(day(7), 9)), day(7))]:
        history.add(
            "orders",
            arrives,
            order_id="chg1",
            customer_id="c3",
            email="person03@example.com",
            ordered_at=values[1],
            status=values[0],
            amount="60.00",
        )
    # Status edited in place in the export: the day-0 row says completed until day 9, then cancelled.
    old = {"order_id": "edit1", "customer_id": "c4", "email": "person04@example.com", "amount": "75.50"}
    history.add("orders", day(0), replaced_on=day(9), **old, ordered_at=stamp(day(0), 15), status="completed")
    history.add("orders", day(9), **old, ordered_at=stamp(day(0), 15), status="cancelled")
    # A duplicate order row that turns up later (identical text: only the row count tells them apart).
    dup = {"customer_id": "c5", "email": "person05@example.com", "ordered_at": stamp(day(2), 12)}
    history.add("orders", day(2), order_id="dup1", **dup, status="completed", amount="20.00")
    history.add("orders", day(9), order_id="dup1", **dup, status="completed", amount="20.00")
    # A later duplicate session with an earlier start: it wins, the stored one becomes the duplicate.
    sess = {"visitor_id": "v6", "customer_id": None, "email": "person06@example.com", "ended_at": None}
    sess |= {"device": "mobile", "channel": "email", "page_views": "3", "cart_adds": "1", "cart_value": "15"}
    history.add("sessions", day(3), session_id="sdup", started_at=stamp(day(3), 10), order_id=None, **sess)
    history.add("sessions", day(9), session_id="sdup", started_at=stamp(day(3), 9), order_id=None, **sess)
    # Rows without an id (identical twice), a bad email, a bad amount, a far-future timestamp.
    for arrives in (day(1), day(5)):
        history.add(
            "orders",
            arrives,
            order_id=None,
            customer_id=None,
            email="person07@example.com",
            ordered_at=stamp(day(1), 8),
            status="completed",
            amount="1",
        )
    bad = {"customer_id": None, "status": "completed", "ordered_at": stamp(day(4), 8)}
    history.add("orders", day(4), order_id="bad1", email="not-an-email", amount="5", **bad)
    history.add("orders", day(6), order_id="bad2", email="person08@example.com", amount="abc", **bad)
    history.add(
        "orders",
        day(5),
        order_id="future1",
        customer_id=None,
        email="person09@example.com",
        ordered_at="2099-01-01T00:00:00",
        status="completed",
        amount="9",
    )
    # An unsubscribe recorded by editing an old signup in place.
    signup = {"signup_id": "nx", "email": "person10@example.com", "signed_up_at": stamp(day(0), 7), "source": "contest"}
    history.add("newsletter_signups", day(0), replaced_on=day(8), **signup, unsubscribed_at=None)
    history.add("newsletter_signups", day(8), **signup, unsubscribed_at=stamp(day(7), 18))
    # A signup exported again later with a later time: the earliest row stays, the new one is the duplicate.
    history.add(
        "newsletter_signups",
        day(6),
        signup_id="n0",
        email="person00@example.com",
        signed_up_at=stamp(day(5), 9),
        source="checkout",
        unsubscribed_at=None,
    )
    # Identity stitching that changes old sessions (int_sessions__attributed re-attributes them; staging does not
    # touch them in the run that changes their person):
    # - visitor vstitch browses anonymously on days 1 and 3 and only identifies (logs in) on day 7;
    browsing = {"customer_id": None, "ended_at": None, "device": "app", "channel": "organic", "order_id": None}
    browsing |= {"page_views": "2", "cart_adds": "0", "cart_value": ""}
    for number, (on, email) in enumerate([(day(1), None), (day(3), None), (day(7), "stitched@example.com")]):
        stitched = browsing | {"session_id": f"sstitch{number}", "visitor_id": "vstitch", "email": email}
        history.add("sessions", on, started_at=stamp(on, 20), **stitched)
    # - account c90 is first seen on a day-2 order of first.owner@; an email-less session of visitor vowner is
    #   logged in to c90 on day 3 (attributed to the account's owner) and vowner browses anonymously on day 4
    #   (stitched to the same person). On day 8 an order of late.owner@ placed on day 1 with c90 arrives: the
    #   account, and so both sessions, now belong to late.owner@.
    for order_id, arrives, email, placed in [
        ("own1", day(2), "first.owner@example.com", day(2)),
        ("own0", day(8), "late.owner@example.com", day(1)),
    ]:
        history.add(
            "orders",
            arrives,
            order_id=order_id,
            customer_id="c90",
            email=email,
            ordered_at=stamp(placed, 14),
            status="completed",
            amount="30.00",
        )
    owned = browsing | {"visitor_id": "vowner", "email": None}
    history.add(
        "sessions", day(3), session_id="sowner0", started_at=stamp(day(3), 12), **(owned | {"customer_id": "c90"})
    )
    history.add("sessions", day(4), session_id="sowner1", started_at=stamp(day(4), 12), **owned)
    # A session edited in place on day 8 into an unusable row: in the single-file export it leaves the usable
    # sessions (and int_sessions__attributed); in a folder the edit is a new, quarantined row and the old one stays.
    edited = browsing | {"session_id": "sgone", "visitor_id": "v12", "email": "person12@example.com"}
    history.add("sessions", day(2), replaced_on=day(8), started_at=stamp(day(2), 16), **edited)
    history.add("sessions", day(8), started_at=stamp(day(2), 16), **(edited | {"page_views": "-1"}))
    # An email event exported twice, the second time late and with another case.
    event = {"campaign_id": "cmp0", "event_type": "open", "occurred_at": stamp(day(1), 7)}
    history.add("email_events", day(1), event_id="edup", email="person11@example.com", **event)
    history.add("email_events", day(7), event_id="edup", email="PERSON11@example.com", **event)
    add_orders_leaving_a_person(history, day)
    add_identity_cases(history, start)


def add_orders_leaving_a_person(history: RawHistory, day) -> None:
    """Orders that leave a person long after they were placed (the run that changes them re-derives only their
    own id group): int_customers__order_summary must re-derive the person, or delete them when nothing is left."""
    placed = {"customer_id": None, "status": "completed", "amount": "30.00"}
    # The email of solo.buyer@'s only order is corrected in place on day 9 to another person. In the single-file
    # export the old row is simply gone; in a folder the edit is a new row and the old one becomes its duplicate.
    moved = placed | {"order_id": "moved1", "ordered_at": stamp(day(1), 12)}
    history.add("orders", day(1), replaced_on=day(9), **moved, email="solo.buyer@example.com")
    history.add("orders", day(9), **moved, email="person12@example.com")
    # The only order of voided.buyer@ is edited in place into an unusable row (quarantined): in the single-file
    # export no order is left; in a folder the old row stays usable.
    voided = placed | {"order_id": "voided1", "email": "voided.buyer@example.com", "ordered_at": stamp(day(2), 9)}
    history.add("orders", day(2), replaced_on=day(9), **voided)
    history.add("orders", day(9), **(voided | {"amount": "abc"}))


def add_identity_cases(history: RawHistory, start: dt.date) -> None:
    """Rows that change who owns an old identifier (int_customers__identity), all landing on day 8."""

    def day(n: int) -> dt.date:
        return start + dt.timedelta(days=n)

    order = {"status": "completed", "amount": "10.00"}
    session = {"ended_at": None, "device": "app", "channel": "organic", "page_views": "1", "cart_adds": "0"}
    session |= {"cart_value": "0", "order_id": None}
    # cx1 is first seen with owner.b; a late order shows owner.a earlier. The visitor vx1, known only through a
    # session carrying cx1 (no email, not restaged), must follow the new owner.
    history.add(
        "orders",
        day(3),
        order_id="idc1",
        customer_id="cx1",
        email="owner.b@example.com",
        ordered_at=stamp(day(3), 10),
        **order,
    )
    history.add(
        "sessions",
        day(3),
        session_id="ids1",
        visitor_id="vx1",
        customer_id="cx1",
        email=None,
        started_at=stamp(day(3), 12),
        **session,
    )
    history.add(
        "orders",
        day(8),
        order_id="idc2",
        customer_id="cx1",
        email="owner.a@example.com",
        ordered_at=stamp(day(1), 9),
        **order,
    )
    # An order's email edited in place: gone@ loses its only sighting, cx2 (and the visitor vx2 behind it) change
    # owner to kept@ although no row of theirs carries a new value.
    ide = {"order_id": "ide1", "customer_id": "cx2", "ordered_at": stamp(day(1), 11)}
    history.add("orders", day(1), replaced_on=day(8), email="gone@example.com", **ide, **order)
    history.add("orders", day(8), email="kept@example.com", **ide, **order)
    history.add(
        "sessions",
        day(1),
        session_id="ids2",
        visitor_id="vx2",
        customer_id="cx2",
        email=None,
        started_at=stamp(day(1), 13),
        **session,
    )
    # The only order of lost@ becomes unusable (bad amount): the person disappears.
    idq = {
        "order_id": "idq1",
        "customer_id": None,
        "email": "lost@example.com",
        "ordered_at": stamp(day(0), 14),
        "status": "completed",
    }
    history.add("orders", day(0), replaced_on=day(8), amount="12.00", **idq)
    history.add("orders", day(8), amount="abc", **idq)
    # A session moved to another visitor: vx3 loses its only identified session.
    idv = {"session_id": "ids3", "customer_id": None, "email": "visitor.a@example.com", "started_at": stamp(day(2), 8)}
    history.add("sessions", day(2), replaced_on=day(8), visitor_id="vx3", **idv, **session)
    history.add("sessions", day(8), visitor_id="vx4", **idv, **session)
    # Two first sightings of cx3 at the same time: the alphabetically first email owns it, also when it is late.
    history.add(
        "orders",
        day(4),
        order_id="idt1",
        customer_id="cx3",
        email="tie.b@example.com",
        ordered_at=stamp(day(4), 10),
        **order,
    )
    history.add(
        "sessions",
        day(8),
        session_id="idt2",
        visitor_id="vx5",
        customer_id="cx3",
        email="tie.a@example.com",
        started_at=stamp(day(4), 10),
        **session,
    )


def snapshot(
    database: Path, exclude_tables: set[str] = frozenset(), schemas: tuple[str, ...] = COMPARED_SCHEMAS
) -> dict[str, list[tuple]]:
    """Every table and view of `schemas`, load-time columns left out, rows sorted."""
    with duckdb.connect(str(database), read_only=True) as con:
        relations = con.execute(
            "select table_schema, table_name from information_schema.tables where table_schema in "
            f"({', '.join(repr(schema) for schema in schemas)}) order by 1, 2"
        ).fetchall()
        result = {}
        for schema, table in relations:
            name = f"{schema}.{table}"
            if name in exclude_tables or table in exclude_tables:
                continue
            columns = [
                column
                for (column,) in con.execute(
                    "select column_name from information_schema.columns where table_schema = ? and table_name = ? "
                    "order by ordinal_position",
                    [schema, table],
                ).fetchall()
                if column not in LOAD_TIME_COLUMNS
            ]
            column_list = ", ".join(f'"{c}"' for c in columns)
            result[name] = [tuple(columns)] + con.execute(
                f"select {column_list} from {schema}.{table} order by all nulls last"
            ).fetchall()
        return result
