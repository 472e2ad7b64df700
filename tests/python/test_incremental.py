"""Incremental landing = full rebuild (design 2).

Only staging's landing is incremental: `staging.base_shop__<dataset>` appends the rows of raw files it has not
landed before (a folder NAME/ of daily files), or reloads a single file NAME.csv whole on every run; everything
after it is rebuilt every run. Raw data arrives in daily slices of a generated shop with late rows, in-place
edits and duplicates (raw_slices.py), in two layouts: one file per dataset holding everything exported so far,
and a folder per dataset that gets one new file a day. After every slice, staging and quarantine equal a
--full-refresh of them row for row, and after the last slice every relation of every schema equals a
--full-refresh build; the landed tables show which files a run read. Every model after the landing is a view
or a table rebuilt from the landed rows (checked on the manifest), so equal landing means equal models on every
day; the stage history keeps state by design and is compared where a full refresh keeps it (on a copy of the
warehouse, as production would run it).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from dbt_harness import query, run_dbt, target_path
from raw_slices import COLUMNS, add_awkward_cases, generated_history, snapshot

START = dt.date(2024, 3, 1)
# First build on day 2's export, then one incremental run per export.
SLICE_DAYS = [START + dt.timedelta(days=n) for n in (2, 4, 6, 8, 9)]
DATASETS = list(COLUMNS)
# Persons whose sessions move to another person on day 8 (raw_slices: vowner's sessions, ids1 of visitor vx1).
SESSION_OWNERS = ["first.owner@example.com", "late.owner@example.com", "owner.a@example.com", "owner.b@example.com"]
LANDING = ("staging", "quarantine")
LAYOUTS = ("single_file", "folder")
# Materializations that rebuild a model from its inputs on every run.
PLAIN = {"view", "table", "ephemeral"}
# What the days before the last one run: staging and the models each day's checks read (with their parents). The
# rest is rebuilt from the landed rows on every run, so it equals a full refresh whenever the landing does.
DAILY_MODELS = ["staging", "+int_sessions__attributed", "+int_customers__session_summary"]


def rows_by_file(landed: dict[str, tuple]) -> dict[str, int]:
    """_source_file -> rows, from landed_files()."""
    return {name: rows for name, (rows, _, _) in landed.items()}


def landed_files(database: Path, dataset: str) -> dict[str, tuple[int, dt.datetime, dt.datetime]]:
    """_source_file -> (rows, first and last _loaded_at) of the landed table of `dataset`."""
    rows = query(
        database,
        f"select _source_file, count(*), min(_loaded_at), max(_loaded_at) from staging.base_shop__{dataset} group by 1",
    )
    return {name: (count, first, last) for name, count, first, last in rows}


def file_rows(raw_dir: Path, dataset: str) -> dict[str, int]:
    """File name -> data rows of each raw file of `dataset` (a single file or the files of its folder)."""
    paths = sorted((raw_dir / dataset).glob("*.csv")) if (raw_dir / dataset).is_dir() else [raw_dir / f"{dataset}.csv"]
    counts = {}
    for path in paths:
        with open(path, newline="") as handle:
            counts[path.name] = sum(1 for _ in csv.reader(handle)) - 1
    return counts


def full_refresh_copy(database: Path, target: Path, raw_dir: Path, args: list[str]) -> Path:
    """Copy the warehouse over `target` and run `args` with --full-refresh on the copy, as production would: a
    full refresh rebuilds from the raw files but keeps what only the warehouse holds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(database, target)
    run_dbt([*args, "--full-refresh"], raw_dir, target)
    return target


def build_day_by_day(base: Path, layout: str) -> dict:
    """Write each slice of the generated history and run dbt after each (DAILY_MODELS; the last one `dbt build`,
    which also runs the data tests); after each run record what staging holds next to a --full-refresh of staging on a
    copy, and after the last, rebuild everything with --full-refresh on a copy."""
    history = generated_history(START, days=10)
    add_awkward_cases(history, START)
    raw_dir = base / "raw"
    incremental = base / "incremental" / "warehouse.duckdb"
    incremental.parent.mkdir()
    runs = []
    previous = None
    for number, day in enumerate(SLICE_DAYS):
        if layout == "folder":
            raw_counts = history.write_folder_slice(raw_dir, day, previous)
        else:
            raw_counts = history.write_slice(raw_dir, day)
        previous = day
        # the last day builds everything (data tests too); the days before, the landing and what is read below
        last = number == len(SLICE_DAYS) - 1
        run_dbt(["build"] if last else ["run", "--select", *DAILY_MODELS], raw_dir, incremental)
        # the same path every day: dbt's partial parsing serves the next day's refresh
        landing_full = full_refresh_copy(
            incremental, base / "landing_full" / "warehouse.duckdb", raw_dir, ["run", "--select", "staging"]
        )
        runs.append(
            {
                "day": day,
                "raw": raw_counts,
                "staged": {
                    d: query(incremental, f"select count(*) from staging.stg_shop__{d}")[0][0] for d in DATASETS
                },
                "quarantined": {
                    d: query(incremental, f"select count(*) from quarantine.quarantine_shop__{d}")[0][0]
                    for d in DATASETS
                },
                "files": {d: file_rows(raw_dir, d) for d in DATASETS},
                "landed": {d: landed_files(incremental, d) for d in DATASETS},
                "landing": (snapshot(incremental, schemas=LANDING), snapshot(landing_full, schemas=LANDING)),
                "attributions": {
                    session_id: (person_email, attributed_by)
                    for session_id, person_email, attributed_by in query(
                        incremental,
                        "select session_id, person_email, attributed_by from intermediate.int_sessions__attributed "
                        "where visitor_id in ('vstitch', 'vowner')",
                    )
                },
                "session_counts": dict(
                    query(
                        incremental,
                        "select email, sessions from intermediate.int_customers__session_summary "
                        f"where email in {tuple(SESSION_OWNERS)}",
                    )
                ),
            }
        )
    # models only: the data tests ran on the incremental side's last build
    full = full_refresh_copy(incremental, base / "full" / "warehouse.duckdb", raw_dir, ["run"])
    return {"layout": layout, "raw_dir": raw_dir, "incremental": incremental, "full": full, "runs": runs}


@pytest.fixture(scope="session")
def single_file_runs(tmp_path_factory):
    """One file per dataset, rewritten every day with everything exported so far (edits made in place)."""
    return build_day_by_day(tmp_path_factory.mktemp("incremental_single_file"), "single_file")


@pytest.fixture(scope="session")
def folder_runs(tmp_path_factory):
    """A folder per dataset that gets one file a day with the rows that arrived since the day before."""
    return build_day_by_day(tmp_path_factory.mktemp("incremental_folder"), "folder")


@pytest.fixture(params=LAYOUTS)
def daily_runs(request):
    """The same checks for both layouts."""
    return request.getfixturevalue(f"{request.param}_runs")


def assert_same_tables(incremental: dict, full: dict) -> None:
    """Two snapshots hold the same tables and views, each with the same rows."""
    assert sorted(incremental) == sorted(full)
    for name in full:
        assert incremental[name] == full[name], name


# --- incremental = full refresh ----------------------------------------------------------------------------


def test_staging_equals_a_full_refresh_after_every_run(daily_runs):
    for run in daily_runs["runs"]:
        incremental, full = run["landing"]
        for dataset in DATASETS:
            assert len(full[f"staging.base_shop__{dataset}"]) > 1, f"{dataset} landed nothing on {run['day']}"
        assert_same_tables(incremental, full)


def test_every_relation_equals_a_full_refresh_build_after_the_last_run(daily_runs):
    incremental = snapshot(daily_runs["incremental"])
    full = snapshot(daily_runs["full"])
    assert {"intermediate.int_sessions__attributed", "marts.customer_lifecycle", "marts.fct_orders"} <= set(full)
    for name in full:
        if name.startswith(("staging.", "quarantine.", "marts.customer_lifecycle")):
            assert len(full[name]) > 1, f"{name} is empty: the comparison proves nothing"
    assert_same_tables(incremental, full)


def test_only_the_landing_and_the_stage_history_keep_state_between_runs(single_file_runs):
    """What comparing staging after every run and everything after the last one rests on: every other model is a
    view or a table rebuilt from the landed rows on every run, so it holds nothing a full refresh would not."""
    manifest = json.loads((target_path(single_file_runs["incremental"]) / "manifest.json").read_text())
    models = [node for node in manifest["nodes"].values() if node["resource_type"] == "model"]
    stateful = {node["name"]: node for node in models if node["config"]["materialized"] not in PLAIN}
    landed = {name for name, node in stateful.items() if node["config"]["materialized"] == "landed"}
    assert landed == {f"base_shop__{dataset}" for dataset in DATASETS}
    assert all("history" in stateful[name]["fqn"] for name in set(stateful) - landed), sorted(stateful)


def test_raw_rows_equal_staged_plus_quarantined_after_every_run(daily_runs):
    for run in daily_runs["runs"]:
        for dataset in DATASETS:
            assert run["raw"][dataset] == run["staged"][dataset] + run["quarantined"][dataset], (run["day"], dataset)


# --- what a run lands --------------------------------------------------------------------------------------


def test_a_single_file_is_reloaded_whole_on_every_run(single_file_runs):
    previous = None
    for run in single_file_runs["runs"]:
        loaded_at = set()
        for dataset in DATASETS:
            [(name, (rows, first, last))] = run["landed"][dataset].items()
            assert name == f"{dataset}.csv"
            assert rows == run["files"][dataset][name] == run["raw"][dataset], (run["day"], dataset)
            loaded_at |= {first, last}
        # every row of every dataset was landed by this run, after the one before
        assert len(loaded_at) == 1, (run["day"], loaded_at)
        [current] = loaded_at
        assert previous is None or current > previous
        previous = current


def test_a_folder_run_lands_only_the_new_files(folder_runs):
    """Each run lands the day's new file of each dataset; the files landed before keep the rows and the load time
    of the run that landed them."""
    first_landed = {}
    previous_run = None
    for run in folder_runs["runs"]:
        new_file = f"{run['day'].isoformat()}.csv"
        run_times = set()
        for dataset in DATASETS:
            landed = run["landed"][dataset]
            # every file's rows, each file once (rows as the file holds them; an empty file lands no row)
            files = {name: rows for name, rows in run["files"][dataset].items() if rows}
            assert rows_by_file(landed) == files, (run["day"], dataset)
            assert new_file in landed, (run["day"], dataset)
            for name, (_, first, last) in landed.items():
                assert first == last, (run["day"], dataset, name)
                if name == new_file:
                    assert (dataset, name) not in first_landed
                    first_landed[dataset, name] = first
                    run_times.add(first)
                else:
                    assert first == first_landed[dataset, name], (run["day"], dataset, name)
        # one run landed the new files of all datasets, after the run before
        [run_time] = run_times
        assert previous_run is None or run_time > previous_run
        previous_run = run_time


@pytest.fixture
def folder_copy(folder_runs, tmp_path):
    """A copy of the folder layout's raw files and warehouse after the last run, to change and run again."""
    raw_dir = tmp_path / "raw"
    shutil.copytree(folder_runs["raw_dir"], raw_dir)
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(folder_runs["incremental"], database)
    return raw_dir, database


def edit_first_orders_file(raw_dir: Path) -> Path:
    """Rewrite the first orders file in place with other content: o1 renamed to o1-edited, and one row more."""
    first = raw_dir / "orders" / f"{SLICE_DAYS[0].isoformat()}.csv"
    with open(first, newline="") as handle:
        rows = list(csv.DictReader(handle))
    [o1] = [row for row in rows if row["order_id"] == "o1"]
    o1["order_id"] = "o1-edited"
    extra = {"order_id": "o-extra", "email": "extra@example.com", "ordered_at": "2024-03-01T08:00:00"}
    rows.append(dict.fromkeys(COLUMNS["orders"], "") | extra | {"status": "completed", "amount": "1"})
    with open(first, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS["orders"])
        writer.writeheader()
        writer.writerows(rows)
    return first


def landed_rows(database: Path, dataset: str, source_file: str) -> list[tuple]:
    return query(
        database, f"select * from staging.base_shop__{dataset} where _source_file = '{source_file}' order by all"
    )


def order_ids(database: Path) -> set[str]:
    return {order_id for (order_id,) in query(database, "select order_id from staging.stg_shop__orders")}


def test_a_landed_file_overwritten_in_place_is_not_read_again(folder_copy):
    raw_dir, database = folder_copy
    first = edit_first_orders_file(raw_dir)
    before = landed_rows(database, "orders", first.name)
    run_dbt(["run", "--select", "staging"], raw_dir, database)
    assert landed_rows(database, "orders", first.name) == before
    assert "o1" in order_ids(database) and not {"o1-edited", "o-extra"} & order_ids(database)
    # a full refresh reads every file again
    run_dbt(["run", "--select", "staging", "--full-refresh"], raw_dir, database)
    assert (
        len(landed_rows(database, "orders", first.name)) == len(before) + 1 == file_rows(raw_dir, "orders")[first.name]
    )
    assert {"o1-edited", "o-extra"} <= order_ids(database) and "o1" not in order_ids(database)


def test_a_removed_file_makes_the_next_run_reload_the_dataset_whole(folder_copy):
    raw_dir, database = folder_copy
    sessions_before = landed_files(database, "sessions")
    [(stored_max,)] = query(database, "select max(_loaded_at) from staging.base_shop__orders")
    (raw_dir / "orders" / f"{SLICE_DAYS[1].isoformat()}.csv").unlink()
    edit_first_orders_file(raw_dir)
    run_dbt(["run", "--select", "staging"], raw_dir, database)
    landed = landed_files(database, "orders")
    assert rows_by_file(landed) == file_rows(raw_dir, "orders")
    # every orders row was landed again by this run (the in-place edit of the first file is read too) ...
    assert len({loaded for _, first, last in landed.values() for loaded in (first, last)}) == 1
    assert next(iter(landed.values()))[1] > stored_max
    assert {"o1-edited", "o-extra"} <= order_ids(database)
    # ... and the datasets whose files are all there were not
    assert landed_files(database, "sessions") == sessions_before
    [(raw,)] = query(database, "select count(*) from staging.base_shop__orders")
    staged = query(database, "select count(*) from staging.stg_shop__orders")[0][0]
    quarantined = query(database, "select count(*) from quarantine.quarantine_shop__orders")[0][0]
    assert raw == staged + quarantined == sum(file_rows(raw_dir, "orders").values())


def test_switching_a_dataset_between_folder_and_file_reloads_it(folder_copy):
    raw_dir, database = folder_copy
    folder = raw_dir / "orders"
    files = sorted(folder.glob("*.csv"))
    header, *_ = files[0].read_text().splitlines(keepends=True)
    single = raw_dir / "orders.csv"
    single.write_text(header + "".join("".join(path.read_text().splitlines(keepends=True)[1:]) for path in files))
    shutil.move(folder, raw_dir.parent / "orders_folder")
    run_dbt(["run", "--select", "staging"], raw_dir, database)
    landed = landed_files(database, "orders")
    assert rows_by_file(landed) == {"orders.csv": file_rows(raw_dir, "orders")["orders.csv"]}
    single.unlink()
    shutil.move(raw_dir.parent / "orders_folder", folder)
    run_dbt(["run", "--select", "staging"], raw_dir, database)
    landed = landed_files(database, "orders")
    assert rows_by_file(landed) == {name: rows for name, rows in file_rows(raw_dir, "orders").items() if rows}


# --- what the days bring -----------------------------------------------------------------------------------


def test_late_rows_status_changes_and_duplicates_are_applied(daily_runs):
    database = daily_runs["incremental"]
    orders = dict(
        query(
            database,
            "select order_id, status from staging.stg_shop__orders "
            "where order_id in ('late1', 'chg1', 'edit1', 'dup1')",
        )
    )
    # late1 arrived 7 days after it was placed; chg1 got a newer row; edit1 was edited on day 9 (in place in the
    # single file, as a new row of the day-9 file in the folder, which wins the tie on ordered_at)
    assert orders == {"late1": "completed", "chg1": "returned", "edit1": "cancelled", "dup1": "completed"}
    assert query(
        database, "select quarantine_reason from quarantine.quarantine_shop__orders where order_id = 'dup1'"
    ) == [("duplicate_order_id",)]
    # two identical rows without an id, exported on different days: both quarantined
    assert query(
        database,
        "select count(*) from quarantine.quarantine_shop__orders where quarantine_reason = 'missing_order_id'",
    ) == [(2,)]
    # the session duplicate exported later has the earlier start, so it replaces the one landed first
    assert query(database, "select started_at from staging.stg_shop__sessions where session_id = 'sdup'") == [
        (dt.datetime(2024, 3, 4, 9, 0),)
    ]
    assert query(
        database, "select unsubscribed_at from staging.stg_shop__newsletter_signups where signup_id = 'nx'"
    ) == [(dt.datetime(2024, 3, 8, 18, 0),)]
    assert query(database, "select amount from staging.stg_shop__orders where order_id = 'late1'") == [
        (Decimal("42.00"),)
    ]


def test_in_a_folder_the_later_file_wins_ties(folder_runs):
    database = folder_runs["incremental"]
    first_file = f"{SLICE_DAYS[0].isoformat()}.csv"  # days 0-2
    # edit1: same ordered_at, completed in the first file, cancelled in the day-9 file: the first file's row is
    # the duplicate
    assert query(
        database,
        "select status, source_file from quarantine.quarantine_shop__orders "
        "where order_id = 'edit1' and quarantine_reason = 'duplicate_order_id'",
    ) == [("completed", first_file)]
    # dup1, exported identically on day 2 and day 9: the first file's row is the duplicate
    assert query(
        database,
        "select source_file from quarantine.quarantine_shop__orders where order_id = 'dup1'",
    ) == [(first_file,)]


def test_a_session_that_became_unusable_leaves_the_attributed_sessions(daily_runs):
    """sgone was edited in place into an unusable row on day 8 (raw_slices): the single file no longer has a
    usable row for it; the folder keeps the first file's row."""
    database = daily_runs["incremental"]
    single_file = daily_runs["layout"] == "single_file"
    assert query(database, "select count(*) from intermediate.int_sessions__attributed where session_id = 'sgone'") == [
        (0,) if single_file else (1,)
    ]
    assert query(
        database, "select quarantine_reason from quarantine.quarantine_shop__sessions where session_id = 'sgone'"
    ) == [("negative_page_views",)]


def test_old_sessions_follow_identity_changes(daily_runs):
    """Sessions landed on earlier days get the person the identity rules give them today (raw_slices: vstitch,
    vowner)."""
    attributions = {run["day"]: run["attributions"] for run in daily_runs["runs"]}
    first_owner, late_owner, stitched = "first.owner@example.com", "late.owner@example.com", "stitched@example.com"
    assert attributions[START + dt.timedelta(days=4)] == {
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


def test_the_session_summary_follows_sessions_that_move_to_another_person(daily_runs):
    """On day 8 vowner's two sessions move from first.owner@ to late.owner@ and ids1 from owner.b@ to owner.a@
    (raw_slices): the persons they left lose them, not only the persons they joined gain them."""
    counts = {run["day"]: run["session_counts"] for run in daily_runs["runs"]}
    assert counts[START + dt.timedelta(days=6)] == {"first.owner@example.com": 2, "owner.b@example.com": 1}
    for day in SLICE_DAYS[-2:]:
        assert counts[day] == {"late.owner@example.com": 2, "owner.a@example.com": 1}, day


def test_identity_follows_owner_changes_of_old_identifiers(daily_runs):
    database = daily_runs["incremental"]
    ids = ("cx1", "cx2", "cx3")
    customers = dict(
        query(
            database, f"select customer_id, email from intermediate.int_customer_ids__linked where customer_id in {ids}"
        )
    )
    visitors = dict(
        query(
            database,
            "select visitor_id, email from intermediate.int_visitors__linked "
            "where visitor_id in ('vx1', 'vx2', 'vx3', 'vx4', 'vx5')",
        )
    )
    persons = {email for (email,) in query(database, "select email from intermediate.int_persons__identified")}
    # A late order made owner.a the first owner of cx1; vx1 follows through its session carrying cx1.
    assert customers["cx1"] == visitors["vx1"] == "owner.a@example.com"
    # The email of ide1 was edited (one file) or superseded by a later file (folder): kept@ owns cx2 and vx2.
    assert customers["cx2"] == visitors["vx2"] == "kept@example.com"
    # Session ids3 moved from vx3 to vx4.
    assert "vx3" not in visitors and visitors["vx4"] == "visitor.a@example.com"
    # Tie at the first sighting: the alphabetically first email.
    assert customers["cx3"] == visitors["vx5"] == "tie.a@example.com"
    # gone@'s only order was edited to kept@ (in place, or by a later file's row that wins the tie).
    assert "gone@example.com" not in persons
    # lost@'s only order became unusable: edited in place in the single file; in the folder the first file's
    # usable row stays.
    assert ("lost@example.com" in persons) == (daily_runs["layout"] == "folder")


@pytest.mark.parametrize(
    ("layout", "persons_left"),
    [
        ("single_file", {"person12@example.com"}),
        # In a folder the unusable edit of voided1 is a new, quarantined row and the old, valid row stays.
        ("folder", {"person12@example.com", "voided.buyer@example.com"}),
    ],
)
def test_persons_whose_orders_all_left_have_no_order_summary(request, layout, persons_left):
    database = request.getfixturevalue(f"{layout}_runs")["incremental"]
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
        database, "select count(*) from intermediate.int_orders__attributed where email = 'person12@example.com'"
    )
    assert persons["person12@example.com"] == person12_orders
    assert query(database, "select email from intermediate.int_orders__attributed where order_id = 'moved1'") == [
        ("person12@example.com",)
    ]
