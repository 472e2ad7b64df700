"""Stage history, transitions and previous_stage on a hand-made three-date scenario.

Fixture tests/python/fixtures/history_raw, worked out by hand (docs/lifecycle-definitions.md):
- alice buys on Jan 1, 11, 21 (gaps of 10 days, expected interval 10) and again on Feb 5;
- bob buys once, on Feb 1 (one-time buyer: expected interval = alice's first gap, 10 days);
- carol only signs up (Jan 1).

| as of  | alice                              | bob                 | carol    |
|--------|------------------------------------|---------------------|----------|
| Jan 25 | 4 days since / 10 = 0.4 → repeat   | not known yet       | prospect |
| Feb 3  | 13 / 10 = 1.3 → at_risk            | 2 / 10 = 0.2 → new  | prospect |
| Feb 6  | 1 day since (4 purchase days) → repeat | 5 / 10 = 0.5 → new | prospect |
"""

from __future__ import annotations

import datetime as dt
import shutil

import duckdb
import pytest
from conftest import FIXTURES
from dbt_harness import compiled_sql, person_key, query, run_dbt

RAW = FIXTURES / "history_raw"
JAN25, FEB3, FEB6 = dt.date(2024, 1, 25), dt.date(2024, 2, 3), dt.date(2024, 2, 6)


ALICE, BOB, CAROL = person_key("alice@example.com"), person_key("bob@example.com"), person_key("carol@example.com")


# alice repeat → at_risk → repeat, bob new from Feb 3, carol a prospect throughout
THREE_DATE_TRANSITIONS = sorted(
    [
        (JAN25, FEB3, "repeat", "at_risk", 1),
        (JAN25, FEB3, "not_known", "new", 1),
        (JAN25, FEB3, "prospect", "prospect", 1),
        (FEB3, FEB6, "at_risk", "repeat", 1),
        (FEB3, FEB6, "new", "new", 1),
        (FEB3, FEB6, "prospect", "prospect", 1),
    ]
)


def transitions(database) -> list[tuple]:
    return sorted(
        query(
            database,
            "select from_as_of_date, to_as_of_date, from_stage, to_stage, persons from marts.stage_transitions",
        )
    )


def build(database, as_of: dt.date, *extra: str, command: str = "run", **dbt_vars) -> None:
    """`dbt run` as of `as_of`; the data tests run on the three dates' warehouse (`command="build"`)."""
    run_dbt([command, *extra], RAW, database, dbt_vars={"as_of_date": as_of.isoformat(), **dbt_vars})


@pytest.fixture(scope="module")
def three_dates(tmp_path_factory):
    database = tmp_path_factory.mktemp("history") / "warehouse.duckdb"
    for as_of in (JAN25, FEB3, FEB6):
        build(database, as_of, command="build")
    return database


THREE_DATE_HISTORY = sorted(
    [
        (JAN25, ALICE, "repeat"),
        (JAN25, CAROL, "prospect"),
        (FEB3, ALICE, "at_risk"),
        (FEB3, BOB, "new"),
        (FEB3, CAROL, "prospect"),
        (FEB6, ALICE, "repeat"),
        (FEB6, BOB, "new"),
        (FEB6, CAROL, "prospect"),
    ]
)


def history(database) -> list[tuple]:
    return sorted(query(database, "select as_of_date, customer_key, lifecycle_stage from marts.customer_stage_history"))


# After Feb 6: alice back to repeat from at_risk that day, bob new since Feb 3, carol a prospect since Jan 25.
THREE_DATE_STAGE_CHANGES = sorted([(ALICE, "at_risk", FEB6), (BOB, None, FEB3), (CAROL, None, JAN25)])


def stage_changes(database) -> list[tuple]:
    sql = "select customer_key, previous_stage, stage_changed_on from marts.customer_lifecycle"
    return sorted(query(database, sql))


def test_history_has_one_row_per_person_and_date(three_dates):
    assert history(three_dates) == THREE_DATE_HISTORY


def test_transitions_between_consecutive_dates(three_dates):
    assert transitions(three_dates) == THREE_DATE_TRANSITIONS


def test_customer_lifecycle_knows_the_previous_stage(three_dates):
    rows = query(
        three_dates,
        "select customer_key, lifecycle_stage, previous_stage, stage_changed_on from marts.customer_lifecycle",
    )
    assert sorted(rows) == sorted(
        [
            (ALICE, "repeat", "at_risk", FEB6),  # back to repeat on Feb 6
            (BOB, "new", None, FEB3),  # new since first known
            (CAROL, "prospect", None, JAN25),  # never moved
        ]
    )


def test_rerunning_a_date_replaces_it_and_full_refresh_keeps_history(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    for as_of in (JAN25, FEB3, FEB6, FEB3):
        build(database, as_of)
    assert query(database, "select count(*) from marts.customer_stage_history") == [(8,)]
    # As of Feb 3 again: only earlier dates count, so alice moved from repeat on Feb 3 (Feb 6 is ignored).
    assert query(
        database,
        f"select previous_stage, stage_changed_on from marts.customer_lifecycle where customer_key = {ALICE}",
    ) == [("repeat", FEB3)]
    build(database, FEB6, "--full-refresh")
    assert query(database, "select count(*) from marts.customer_stage_history") == [(8,)]
    assert query(
        database,
        f"select previous_stage, stage_changed_on from marts.customer_lifecycle where customer_key = {ALICE}",
    ) == [("at_risk", FEB6)]


def compiled_stage_changes(database) -> str:
    return compiled_sql(database, "intermediate/history/int_customers__stage_changes.sql")


def test_backfilling_a_date_between_two_others_and_nightly_runs_read_no_history(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    build(database, JAN25)
    build(database, FEB6)
    assert query(database, "select from_as_of_date, to_as_of_date from marts.stage_transitions group by all") == [
        (JAN25, FEB6)
    ]
    build(database, FEB3)  # backfilled between: replaces the pair that skipped it
    assert "customer_stage_history" in compiled_stage_changes(database)  # derived from the whole history
    build(database, FEB6)  # the next date after the stored one: derived from the stored Feb 3 rows
    assert "customer_stage_history" not in compiled_stage_changes(database)
    build(database, FEB6)  # the same date again: derived from the stored Feb 3 rows too
    assert "customer_stage_history" not in compiled_stage_changes(database)
    assert transitions(database) == THREE_DATE_TRANSITIONS
    assert stage_changes(database) == THREE_DATE_STAGE_CHANGES
    # Only the current date and the one before it are kept.
    assert query(database, "select distinct as_of_date from intermediate.int_customers__stage_changes order by 1") == [
        (FEB3,),
        (FEB6,),
    ]


def test_forgetting_old_dates_leaves_the_next_nightly_run_unchanged(tmp_path):
    """README "The file grows with the history": deleting old dates from the published history between runs
    bounds the file, and the next night derives the same stage changes and transitions from the date before."""
    kept, pruned = tmp_path / "kept" / "warehouse.duckdb", tmp_path / "pruned" / "warehouse.duckdb"
    kept.parent.mkdir()
    pruned.parent.mkdir()
    for as_of in (JAN25, FEB3):
        build(kept, as_of)
    shutil.copyfile(kept, pruned)
    with duckdb.connect(str(pruned)) as con:
        con.execute(f"delete from marts.customer_stage_history where as_of_date < date '{FEB3}'")
    for database in (kept, pruned):
        build(database, FEB6)
    assert query(pruned, "select distinct as_of_date from marts.customer_stage_history order by 1") == [
        (FEB3,),
        (FEB6,),
    ]
    lifecycle = "select customer_key, lifecycle_stage, previous_stage, stage_changed_on from marts.customer_lifecycle"
    assert sorted(query(pruned, lifecycle)) == sorted(query(kept, lifecycle))
    # carol has been a prospect since the forgotten Jan 25, and still is.
    assert (CAROL, "prospect", None, JAN25) in query(pruned, lifecycle)
    assert "customer_stage_history" not in compiled_stage_changes(pruned)
    assert transitions(pruned) == transitions(kept) == THREE_DATE_TRANSITIONS


def test_full_refresh_converts_a_history_keyed_by_md5_text(tmp_path):
    """A warehouse built before customer_key was a bigint holds md5 text in the stage history, which a
    --full-refresh keeps: its pre-hook converts the stored keys to the same numbers, and the run is the same as
    on a warehouse that always had them."""
    database = tmp_path / "warehouse.duckdb"
    for as_of in (JAN25, FEB3):
        build(database, as_of)
    with duckdb.connect(str(database)) as con:
        columns = [row[0] for row in con.execute("describe marts.customer_stage_history").fetchall()]
        con.execute(
            "create temp table md5_keyed as select history.* replace (md5(persons.email) as customer_key)"
            " from marts.customer_stage_history as history"
            " inner join intermediate.int_customers__identity as persons"
            " on history.customer_key = persons.customer_key and persons.identifier_type = 'email'"
        )
        con.execute("drop table marts.customer_stage_history")
        con.execute(f"create table marts.customer_stage_history as select {', '.join(columns)} from md5_keyed")
    assert query(database, "select distinct typeof(customer_key) from marts.customer_stage_history") == [("VARCHAR",)]
    build(database, FEB6, "--full-refresh")
    assert query(database, "select distinct typeof(customer_key) from marts.customer_stage_history") == [("BIGINT",)]
    assert history(database) == THREE_DATE_HISTORY
    assert transitions(database) == THREE_DATE_TRANSITIONS
    assert stage_changes(database) == THREE_DATE_STAGE_CHANGES


@pytest.mark.parametrize(
    ("keep_days", "kept_after_feb6"), [(0, [FEB3, FEB6]), (3, [FEB3, FEB6]), (12, [JAN25, FEB3, FEB6])]
)
def test_stage_history_keep_days_forgets_older_dates_but_not_the_one_before(tmp_path, keep_days, kept_after_feb6):
    """Feb 3 is 9 days after Jan 25 and 3 before Feb 6: the Feb 3 run keeps Jan 25 (the date before it, which its
    transitions read) whatever the window; the Feb 6 run forgets it unless it lies within the window (12 days).
    Nothing else changes."""
    database = tmp_path / "warehouse.duckdb"
    dates = "select distinct as_of_date from marts.customer_stage_history order by 1"
    build(database, JAN25, stage_history_keep_days=keep_days)
    build(database, FEB3, stage_history_keep_days=keep_days)
    assert query(database, dates) == [(JAN25,), (FEB3,)]
    build(database, FEB6, stage_history_keep_days=keep_days)
    assert query(database, dates) == [(date,) for date in kept_after_feb6]
    assert transitions(database) == THREE_DATE_TRANSITIONS
    assert stage_changes(database) == THREE_DATE_STAGE_CHANGES


@pytest.mark.parametrize("bad_value", [-1, True, "a week"])
def test_stage_history_keep_days_must_be_whole_days(tmp_path, bad_value):
    result = run_dbt(
        ["run"],
        RAW,
        tmp_path / "warehouse.duckdb",
        dbt_vars={"as_of_date": JAN25.isoformat(), "stage_history_keep_days": bad_value},
        check=False,
    )
    assert result.returncode != 0
    assert "stage_history_keep_days must be a whole number of days" in result.stdout
