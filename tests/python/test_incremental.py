"""Incremental refresh = full rebuild: raw data arrives in daily slices, `dbt build` runs after each slice, and
every model ends up row for row equal to one `--full-refresh` build on the final data."""

from __future__ import annotations

import csv
import datetime as dt
import re
import shutil
from decimal import Decimal

import pytest
from dbt_harness import compiled_sql, query, run_dbt
from raw_slices import add_awkward_cases, generated_history, snapshot, stamp

START = dt.date(2024, 3, 1)
# First build on day 2's export, then one incremental run per export.
SLICE_DAYS = [START + dt.timedelta(days=n) for n in (2, 4, 6, 8, 9)]
# Persons whose sessions move to another person on day 8 (raw_slices: vowner's sessions, ids1 of visitor vx1).
SESSION_OWNERS = ["first.owner@example.com", "late.owner@example.com", "owner.a@example.com", "owner.b@example.com"]


@pytest.fixture(scope="module")
def sliced_runs(tmp_path_factory):
    """Build incrementally slice by slice, then rebuild everything with --full-refresh on the last slice."""
    return build_slice_by_slice(
        tmp_path_factory.mktemp("incremental"), lambda history, raw_dir, day, _: history.write_slice(raw_dir, day)
    )


def build_slice_by_slice(base, write_slice) -> dict:
    """Write each slice of the generated history with `write_slice(history, raw_dir, day, previous_day)`, run
    `dbt build` after each, then a --full-refresh on a copy of the warehouse."""
    history = generated_history(START, days=10)
    add_awkward_cases(history, START)
    raw_dir = base / "raw"
    incremental_db = base / "incremental" / "warehouse.duckdb"
    incremental_db.parent.mkdir()
    raw_counts = []
    attributions = {}
    session_counts = {}
    previous = None
    for day in SLICE_DAYS:
        counts = write_slice(history, raw_dir, day, previous)
        previous = day
        run_dbt(["build"], raw_dir, incremental_db)
        raw_counts.append(
            {
                dataset: (
                    count,
                    query(incremental_db, f"select count(*) from staging.stg_shop__{dataset}")[0][0],
                    query(incremental_db, f"select count(*) from quarantine.quarantine_shop__{dataset}")[0][0],
                )
                for dataset, count in counts.items()
            }
        )
        attributions[day] = {
            session_id: (person_email, attributed_by)
            for session_id, person_email, attributed_by in query(
                incremental_db,
                "select session_id, person_email, attributed_by from intermediate.int_sessions__attributed "
                "where visitor_id in ('vstitch', 'vowner')",
            )
        }
        session_counts[day] = dict(
            query(
                incremental_db,
                "select email, sessions from intermediate.int_customers__session_summary "
                f"where email in {tuple(SESSION_OWNERS)}",
            )
        )
    # The full rebuild runs on a copy of the same warehouse, as it would in production: --full-refresh rebuilds
    # every model from the raw files, but keeps what only exists there (the stage history of earlier dates).
    full_db = base / "full" / "warehouse.duckdb"
    full_db.parent.mkdir()
    shutil.copyfile(incremental_db, full_db)
    run_dbt(["build", "--full-refresh"], raw_dir, full_db)
    return {
        "incremental": incremental_db,
        "full": full_db,
        "raw_counts": raw_counts,
        "attributions": attributions,
        "session_counts": session_counts,
        "raw_dir": raw_dir,
        "base": base,
    }


@pytest.fixture(params=["sliced_runs", "folder_runs"])
def incremental_runs(request):
    """The same checks for both layouts: one file per dataset, and a folder of daily files per dataset."""
    return request.getfixturevalue(request.param)


def test_every_model_equals_a_full_build(incremental_runs):
    incremental = snapshot(incremental_runs["incremental"])
    full = snapshot(incremental_runs["full"])
    assert {"staging.base_shop__orders", "staging.stg_shop__orders", "quarantine.quarantine_shop__sessions"} <= set(
        full
    )
    for name in full:
        if name.startswith(("staging.", "quarantine.")):
            assert len(full[name]) > 1, f"{name} is empty: the comparison proves nothing"
    assert_same_tables(incremental, full)


def assert_same_tables(incremental: dict, full: dict) -> None:
    """Two snapshots hold the same tables and views, each with the same rows."""
    assert sorted(incremental) == sorted(full)
    for name in full:
        assert incremental[name] == full[name], name


def test_raw_rows_equal_staged_plus_quarantined_after_every_run(incremental_runs):
    for run in incremental_runs["raw_counts"]:
        for dataset, (raw, staged, quarantined) in run.items():
            assert raw == staged + quarantined, dataset


def test_old_sessions_follow_identity_changes(incremental_runs):
    """Sessions stored on earlier runs get the person the identity map gives them today (raw_slices: vstitch,
    vowner), although staging does not re-derive them."""
    attributions = incremental_runs["attributions"]
    first_owner, late_owner, stitched = "first.owner@example.com", "late.owner@example.com", "stitched@example.com"
    after_day_4 = START + dt.timedelta(days=4)
    assert attributions[after_day_4] == {
        "sstitch0": (None, None),
        "sstitch1": (None, None),
        "sowner0": (first_owner, "customer_id"),
        "sowner1": (first_owner, "visitor_id"),
    }
    # vstitch logged in on day 7; the day-1 order of another email with account c90 arrived on day 8
    assert attributions[SLICE_DAYS[-1]] == {
        "sstitch0": (stitched, "visitor_id"),
        "sstitch1": (stitched, "visitor_id"),
        "sstitch2": (stitched, "email"),
        "sowner0": (late_owner, "customer_id"),
        "sowner1": (late_owner, "visitor_id"),
    }


def test_a_session_that_became_unusable_leaves_the_attributed_sessions(incremental_runs):
    """sgone was edited in place into an unusable row on day 8 (raw_slices): the single-file export no longer has
    a usable row for it; the folder keeps the first file's row."""
    database = incremental_runs["incremental"]
    single_file = (incremental_runs["raw_dir"] / "sessions.csv").exists()
    assert query(database, "select count(*) from intermediate.int_sessions__attributed where session_id = 'sgone'") == [
        (0,) if single_file else (1,)
    ]
    assert query(
        database, "select quarantine_reason from quarantine.quarantine_shop__sessions where session_id = 'sgone'"
    ) == [("negative_page_views",)]


def test_a_normal_run_leaves_nothing_for_the_next_one_to_write(sliced_runs, tmp_path):
    """The incremental query of int_sessions__attributed, compiled against the warehouse the last run updated,
    finds no session to write: unchanged sessions are not rewritten on every run."""
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(sliced_runs["incremental"], database)
    run_dbt(["compile", "--select", "int_sessions__attributed"], sliced_runs["raw_dir"], database)
    sql = compiled_sql(database, "intermediate/int_sessions__attributed.sql")
    assert "stored_without_email" in sql, "not compiled as an incremental run"
    assert query(database, f"select count(*) from ({sql})") == [(0,)]
    # The last run's own query (compiled with the maxima stored before it wrote) still selects the sessions its
    # staging re-derived: some, but far fewer than are stored.
    sql = compiled_sql(sliced_runs["incremental"], "intermediate/int_sessions__attributed.sql")
    [(written,)] = query(database, f"select count(*) from ({sql})")
    [(stored,)] = query(database, "select count(*) from intermediate.int_sessions__attributed")
    assert 0 < written < stored / 2


def test_load_times_keep_microseconds(sliced_runs):
    """Incremental models find their new input by `loaded_at` > the newest stored `loaded_at` (the previous run's
    start). Cut to whole seconds, a run starting in the same second as the previous one would stamp its rows
    with an equal time, and the next model would skip them."""
    database = sliced_runs["incremental"]
    sql = compiled_sql(database, "staging/shop/base/base_shop__orders.sql")
    stamps = set(re.findall(r"cast\('([^']*)' as timestamp\)\s+as loaded_at", sql))
    assert len(stamps) == 1, stamps
    [stamp_text] = stamps
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}", stamp_text)
    last_run_started = dt.datetime.fromisoformat(stamp_text)
    # Every model the last run wrote stores that instant exactly: the column type keeps the microseconds.
    for table in ("staging.base_shop__orders", "intermediate.int_customers__identity"):
        assert query(database, f"select max(loaded_at) from {table}") == [(last_run_started,)], table


def test_late_rows_status_changes_and_duplicates_are_applied(sliced_runs):
    database = sliced_runs["incremental"]
    orders = dict(
        query(
            database,
            "select order_id, status from staging.stg_shop__orders "
            "where order_id in ('late1', 'chg1', 'edit1', 'dup1')",
        )
    )
    # late1 arrived 7 days after it was placed; chg1 got a newer row; edit1 was edited in place on day 9
    assert orders == {"late1": "completed", "chg1": "returned", "edit1": "cancelled", "dup1": "completed"}
    assert query(
        database, "select quarantine_reason from quarantine.quarantine_shop__orders where order_id = 'dup1'"
    ) == [("duplicate_order_id",)]
    # two identical rows without an id, exported on different days: both quarantined
    assert query(
        database,
        "select count(*) from quarantine.quarantine_shop__orders where quarantine_reason = 'missing_order_id'",
    ) == [(2,)]
    # the session duplicate exported later has the earlier start, so it replaces the stored row
    assert query(
        database,
        "select started_at from staging.stg_shop__sessions where session_id = 'sdup'",
    ) == [(dt.datetime(2024, 3, 4, 9, 0),)]
    assert query(
        database,
        "select unsubscribed_at from staging.stg_shop__newsletter_signups where signup_id = 'nx'",
    ) == [(dt.datetime(2024, 3, 8, 18, 0),)]
    assert query(database, "select amount from staging.stg_shop__orders where order_id = 'late1'") == [
        (Decimal("42.00"),)
    ]


def test_a_normal_run_only_reprocesses_changed_ids(sliced_runs):
    database = sliced_runs["incremental"]
    [(latest,)] = query(database, "select max(loaded_at) from staging.base_shop__orders")
    reprocessed = {
        order_id
        for (order_id,) in query(
            database,
            f"select order_id from staging.base_shop__orders where loaded_at = '{latest}' and order_id is not null",
        )
    }
    all_ids = {order_id for (order_id,) in query(database, "select order_id from staging.base_shop__orders")}
    # The last export (day 9) edited edit1, moved1 and voided1 and duplicated dup1, all dated days before it.
    edited = {"edit1", "dup1", "moved1", "voided1"}
    assert edited <= reprocessed
    # Every other reprocessed id has a row dated on the last export's day or was quarantined as dated in the
    # future: no recent window is re-derived (late2, placed on day 6 and exported on day 8, is left alone).
    new_or_future = {
        order_id
        for (order_id,) in query(
            database,
            "select order_id from staging.base_shop__orders where ordered_at >= '2024-03-10 00:00:00' "
            "or quarantine_reason like 'future%'",
        )
    }
    assert reprocessed - edited <= new_or_future
    assert "late2" not in reprocessed
    # ...and the older ids kept the load time of an earlier run.
    assert len(all_ids - reprocessed - {None}) >= 20


def test_identity_follows_owner_changes_of_old_identifiers(incremental_runs):
    database = incremental_runs["incremental"]
    owners = dict(
        query(
            database,
            "select identifier_type || ' ' || identifier_value, email from intermediate.int_customers__identity "
            "where identifier_value in ('cx1', 'vx1', 'cx2', 'vx2', 'vx3', 'vx4', 'cx3', 'vx5', "
            "'gone@example.com', 'lost@example.com')",
        )
    )
    # A late order made owner.a the first owner of cx1; vx1 follows through its session carrying cx1.
    assert owners["customer_id cx1"] == owners["visitor_id vx1"] == "owner.a@example.com"
    # The email of ide1 was edited (one file) or superseded by a later file (folder): gone@ has no sighting left.
    assert owners["customer_id cx2"] == owners["visitor_id vx2"] == "kept@example.com"
    assert "email gone@example.com" not in owners
    # Session ids3 moved from vx3 to vx4.
    assert "visitor_id vx3" not in owners and owners["visitor_id vx4"] == "visitor.a@example.com"
    # Tie at the first sighting: the alphabetically first email.
    assert owners["customer_id cx3"] == owners["visitor_id vx5"] == "tie.a@example.com"


def test_identity_drops_a_person_whose_only_row_became_unusable(sliced_runs):
    database = sliced_runs["incremental"]
    assert query(
        database, "select count(*) from intermediate.int_customers__identity where email = 'lost@example.com'"
    ) == [(0,)]


def test_a_normal_run_rederives_only_some_identifiers(incremental_runs):
    database = incremental_runs["incremental"]
    [(latest,)] = query(database, "select max(loaded_at) from intermediate.int_customers__identity")
    kept = dict(
        query(
            database,
            "select identifier_type || ' ' || identifier_value, email from intermediate.int_customers__identity "
            f"where loaded_at < '{latest}'",
        )
    )
    # The owner changes of day 8 were derived by that run; the last run (day 9) had no reason to touch them.
    assert kept["customer_id cx1"] == kept["visitor_id vx1"] == "owner.a@example.com"
    assert kept["customer_id cx2"] == "kept@example.com"


@pytest.fixture(scope="module")
def as_of_moves(sliced_runs, tmp_path_factory):
    """From the incrementally built warehouse, move the as-of date back (a backfill) and then forward again; after
    each move, compare with a --full-refresh of a copy of the same warehouse."""
    base = tmp_path_factory.mktemp("as_of_moves")
    raw_dir = sliced_runs["incremental"].parent.parent / "raw"
    incremental_db = base / "incremental" / "warehouse.duckdb"
    incremental_db.parent.mkdir()
    shutil.copyfile(sliced_runs["incremental"], incremental_db)
    pairs = {}
    for label, dbt_vars in [("backwards", {"as_of_date": str(START + dt.timedelta(days=5))}), ("forwards", None)]:
        run_dbt(["run"], raw_dir, incremental_db, dbt_vars)
        full_db = base / label / "warehouse.duckdb"
        full_db.parent.mkdir()
        shutil.copyfile(incremental_db, full_db)
        run_dbt(["run", "--full-refresh"], raw_dir, full_db, dbt_vars)
        pairs[label] = (snapshot(incremental_db), snapshot(full_db))
    return pairs


@pytest.mark.parametrize("move", ["backwards", "forwards"])
def test_every_model_equals_a_full_build_after_the_as_of_date_moves(as_of_moves, move):
    incremental, full = as_of_moves[move]
    # fct_orders is incremental by load time: moving the as-of date back must drop the later orders (its pre-hook).
    assert len(full["marts.fct_orders"]) > 1
    assert_same_tables(incremental, full)


def test_moving_the_as_of_date_back_drops_later_orders_from_fct_orders(as_of_moves):
    incremental, _ = as_of_moves["backwards"]
    header, *rows = incremental["marts.fct_orders"]
    order_dates = [row[header.index("order_date")] for row in rows]
    assert max(order_dates) == START + dt.timedelta(days=5)


def test_rows_edited_past_a_fixed_as_of_date_leave_the_window(sliced_runs, tmp_path):
    """Order o1 and session s1 (day 0, stored long ago) are edited in place to a time after an explicit as-of date,
    in the same run. Their stored rows lie inside the window, so only the pre-hook's check of re-derived rows
    removes them from fct_orders and int_sessions__attributed; every model still equals a --full-refresh."""
    raw_dir = tmp_path / "raw"
    shutil.copytree(sliced_runs["raw_dir"], raw_dir)
    moved_to = stamp(START + dt.timedelta(days=8), 12)
    for dataset, id_column, time_column, row_id in [
        ("orders", "order_id", "ordered_at", "o1"),
        ("sessions", "session_id", "started_at", "s1"),
    ]:
        path = raw_dir / f"{dataset}.csv"
        with open(path, newline="") as handle:
            rows = list(csv.DictReader(handle))
        [edited] = [row for row in rows if row[id_column] == row_id]
        edited[time_column] = moved_to
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    dbt_vars = {"as_of_date": str(START + dt.timedelta(days=7))}
    incremental_db = tmp_path / "incremental" / "warehouse.duckdb"
    incremental_db.parent.mkdir()
    shutil.copyfile(sliced_runs["incremental"], incremental_db)
    assert query(incremental_db, "select count(*) from marts.fct_orders where order_id = 'o1'") == [(1,)]
    run_dbt(["run"], raw_dir, incremental_db, dbt_vars)
    full_db = tmp_path / "full" / "warehouse.duckdb"
    full_db.parent.mkdir()
    shutil.copyfile(incremental_db, full_db)
    run_dbt(["run", "--full-refresh"], raw_dir, full_db, dbt_vars)
    assert query(incremental_db, "select count(*) from marts.fct_orders where order_id = 'o1'") == [(0,)]
    assert query(
        incremental_db, "select count(*) from intermediate.int_sessions__attributed where session_id = 's1'"
    ) == [(0,)]
    assert_same_tables(snapshot(incremental_db), snapshot(full_db))


# --- the same history landed as a folder of daily files per dataset ------------------------------------------


@pytest.fixture(scope="module")
def folder_runs(tmp_path_factory):
    """Each slice adds one file per dataset with the rows that arrived since the previous slice."""
    return build_slice_by_slice(
        tmp_path_factory.mktemp("incremental_folder"),
        lambda history, raw_dir, day, previous_day: history.write_folder_slice(raw_dir, day, previous_day),
    )


def test_folder_runs_landed_one_file_per_slice(folder_runs):
    assert len(sorted((folder_runs["raw_dir"] / "orders").glob("*.csv"))) == len(SLICE_DAYS)


def test_folder_later_files_win_ties_and_late_rows_are_applied(folder_runs):
    database = folder_runs["incremental"]
    orders = dict(
        query(
            database,
            "select order_id, status from staging.stg_shop__orders "
            "where order_id in ('late1', 'chg1', 'edit1', 'dup1')",
        )
    )
    # edit1: same ordered_at, status cancelled in the day-9 file: the later file wins over the first file
    assert orders == {"late1": "completed", "chg1": "returned", "edit1": "cancelled", "dup1": "completed"}
    assert query(
        database,
        "select status, _source_file from staging.base_shop__orders "
        "where order_id = 'edit1' and quarantine_reason = 'duplicate_order_id'",
    ) == [("completed", "2024-03-03.csv")]  # the first file holds days 0-2
    # dup1 exported identically on day 2 and day 9: the day-9 file's row is kept
    assert query(
        database,
        "select _source_file from staging.base_shop__orders where order_id = 'dup1' and quarantine_reason is null",
    ) == [("2024-03-10.csv",)]
    assert query(
        database, "select unsubscribed_at from staging.stg_shop__newsletter_signups where signup_id = 'nx'"
    ) == [(dt.datetime(2024, 3, 8, 18, 0),)]
    assert query(database, "select amount from staging.stg_shop__orders where order_id = 'late1'") == [
        (Decimal("42.00"),)
    ]


def test_folder_run_reprocesses_only_groups_of_new_files_and_recent_ids(folder_runs):
    database = folder_runs["incremental"]
    [(latest,)] = query(database, "select max(loaded_at) from staging.base_shop__orders")
    reprocessed = set(
        query(database, f"select order_id, _source_file from staging.base_shop__orders where loaded_at = '{latest}'")
    )
    new_file_ids = {order_id for order_id, file in reprocessed if file == "2024-03-10.csv"}
    assert {"edit1", "dup1"} <= new_file_ids
    recent = {
        order_id
        for (order_id,) in query(
            database,
            "select order_id from staging.base_shop__orders where ordered_at >= '2024-03-06 00:00:00' "
            "or quarantine_reason like 'future%'",
        )
    }
    assert {order_id for order_id, _ in reprocessed} - new_file_ids <= recent
    [(kept,)] = query(database, f"select count(*) from staging.base_shop__orders where loaded_at < '{latest}'")
    assert kept >= 20


def test_folder_loaded_files_are_not_read_again(folder_runs, tmp_path):
    """Files are immutable once loaded: an edit to one is only seen by --full-refresh, a removed one stops the run."""
    raw_dir = tmp_path / "raw"
    shutil.copytree(folder_runs["raw_dir"], raw_dir)
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(folder_runs["incremental"], database)
    first = raw_dir / "orders" / f"{SLICE_DAYS[0].isoformat()}.csv"
    assert ",o1," not in first.read_text() and "\no1," in first.read_text()
    first.write_text(first.read_text().replace("\no1,", "\no1-edited,", 1))
    run_dbt(["build", "--select", "staging"], raw_dir, database)
    ids = {order_id for (order_id,) in query(database, "select order_id from staging.stg_shop__orders")}
    assert "o1" in ids and "o1-edited" not in ids
    run_dbt(["build", "--select", "staging", "--full-refresh"], raw_dir, database)
    ids = {order_id for (order_id,) in query(database, "select order_id from staging.stg_shop__orders")}
    assert "o1-edited" in ids and "o1" not in ids

    first.unlink()
    result = run_dbt(["build", "--select", "staging"], raw_dir, database, check=False)
    assert result.returncode != 0
    assert "2024-03-03.csv of 'orders' were loaded before but are no longer in" in result.stdout
    assert "--full-refresh" in result.stdout


# --- per-person order aggregates (int_customers__order_summary) -----------------------------------------------


@pytest.mark.parametrize(
    ("layout", "persons_left"),
    [
        ("sliced_runs", {"person12@example.com"}),
        # In a folder the unusable edit of voided1 is a new, quarantined row and the old, valid row stays.
        ("folder_runs", {"person12@example.com", "voided.buyer@example.com"}),
    ],
)
def test_persons_whose_orders_all_left_are_deleted(request, layout, persons_left):
    database = request.getfixturevalue(layout)["incremental"]
    persons = dict(
        query(
            database,
            "select email, valid_orders from intermediate.int_customers__order_summary where email in "
            "('solo.buyer@example.com', 'voided.buyer@example.com', 'person12@example.com')",
        )
    )
    # moved1 now counts for person12@; solo.buyer@ has no valid order left
    assert set(persons) == persons_left
    [(person12_orders,)] = query(
        database,
        "select count(*) from intermediate.int_orders__attributed where email = 'person12@example.com'",
    )
    assert persons["person12@example.com"] == person12_orders
    assert query(database, "select email from intermediate.int_orders__attributed where order_id = 'moved1'") == [
        ("person12@example.com",)
    ]


def test_a_folder_run_rederives_only_the_persons_of_restaged_orders(folder_runs):
    database = folder_runs["incremental"]
    summary = "intermediate.int_customers__order_summary"
    persons = {email for (email,) in query(database, f"select email from {summary}")}
    rederived = {
        email
        for (email,) in query(
            database, f"select email from {summary} where loaded_at = (select max(loaded_at) from {summary})"
        )
    }
    # The last run's new orders are all on its last day, so nothing else entered the as-of window: exactly the
    # persons with an order row staged by that run are re-derived (staging re-derives the ids of the new file),
    # and every other person keeps the row of an earlier run.
    restaged = {
        email
        for (email,) in query(
            database,
            "select email from staging.base_shop__orders "
            "where loaded_at = (select max(loaded_at) from staging.base_shop__orders)",
        )
    }
    assert rederived == restaged & persons
    assert 0 < len(rederived) < len(persons)


# --- per-person session aggregates (int_customers__session_summary) -------------------------------------------


def test_the_session_summary_follows_sessions_that_move_to_another_person(incremental_runs):
    """On day 8 vowner's two sessions move from first.owner@ to late.owner@ and ids1 from owner.b@ to owner.a@
    (raw_slices): the persons they left are re-derived (here: deleted, no session left), not only those they joined."""
    counts = incremental_runs["session_counts"]
    after_day_6 = START + dt.timedelta(days=6)
    assert counts[after_day_6] == {"first.owner@example.com": 2, "owner.b@example.com": 1}
    for day in SLICE_DAYS[-2:]:
        assert counts[day] == {"late.owner@example.com": 2, "owner.a@example.com": 1}, day


def test_the_session_summary_drops_a_session_that_became_unusable(incremental_runs):
    """sgone (person12@) left int_sessions__attributed on day 8 in the single-file export: the summary counts the
    sessions that are left."""
    database = incremental_runs["incremental"]
    [(attributed,)] = query(
        database,
        "select count(*) from intermediate.int_sessions__attributed where person_email = 'person12@example.com'",
    )
    assert query(
        database,
        "select sessions from intermediate.int_customers__session_summary where email = 'person12@example.com'",
    ) == ([(attributed,)] if attributed else [])


def test_a_normal_run_rederives_only_the_persons_of_newly_attributed_sessions(incremental_runs):
    database = incremental_runs["incremental"]
    summary = "intermediate.int_customers__session_summary"
    persons = {email for (email,) in query(database, f"select email from {summary}")}
    rederived = {
        email
        for (email,) in query(
            database, f"select email from {summary} where loaded_at = (select max(loaded_at) from {summary})"
        )
    }
    # The last run (day 9) moved no session away from a person: exactly the persons of the session rows that
    # int_sessions__attributed wrote in that run are re-derived, every other person keeps an earlier run's row.
    written = {
        email
        for (email,) in query(
            database,
            "select person_email from intermediate.int_sessions__attributed where person_email is not null "
            "and attributed_at = (select max(attributed_at) from intermediate.int_sessions__attributed)",
        )
    }
    [(summary_run,)] = query(database, f"select max(loaded_at) from {summary}")
    [(attribution_run,)] = query(database, "select max(attributed_at) from intermediate.int_sessions__attributed")
    assert summary_run == attribution_run
    assert rederived == written
    assert 0 < len(rederived) < len(persons)
