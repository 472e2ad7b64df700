"""Stage history (changes only), transitions and previous_stage on a hand-made three-date scenario.

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
import re
import shutil
from pathlib import Path

import pytest
from conftest import HISTORY_DATES, HISTORY_RAW
from dbt_harness import WITHOUT_PREDICTION, person_key, query, run_dbt

RAW = HISTORY_RAW
JAN25, FEB3, FEB6 = HISTORY_DATES  # conftest.built_dates builds the warehouse after each


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


# What the builds of these tests check: every model, with the data tests of the history (its folder's and the
# agreement test). The project's other data tests ran on this fixture once (conftest.built_dates, last date).
HISTORY_BUILD = ["--select", "resource_type:model", "path:models/marts/history"]
HISTORY_BUILD += ["assert_history_agrees_with_the_lifecycle", "--indirect-selection", "empty"]


def build(database, as_of: dt.date, *extra: str, raw: Path = RAW, check: bool = True, **dbt_vars):
    dbt_vars = {"as_of_date": as_of.isoformat(), **WITHOUT_PREDICTION, **dbt_vars}
    return run_dbt(["build", *HISTORY_BUILD, *extra], raw, database, dbt_vars=dbt_vars, check=check)


def warehouse_after(built_dates: dict[dt.date, Path], as_of: dt.date, tmp_path: Path) -> Path:
    """A copy, in tmp_path, of the warehouse built as of the scenario's dates up to `as_of`."""
    database = tmp_path / "warehouse.duckdb"
    shutil.copyfile(built_dates[as_of], database)
    return database


@pytest.fixture(scope="module")
def three_dates(built_dates):
    return built_dates[FEB6]


# The stage of each known person on each date the scenario ran for.
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

# The stage of P on D: P's latest history row with valid_from <= D, for every recorded as-of date D.
STAGE_ON_DATE_SQL = """
    with ranked as (
        select
            dates.as_of_date, history.customer_key, history.lifecycle_stage,
            row_number() over (
                partition by dates.as_of_date, history.customer_key order by history.valid_from desc
            ) as recency
        from marts.stage_history_dates as dates
        inner join marts.customer_stage_history as history on history.valid_from <= dates.as_of_date
    )
    select as_of_date, customer_key, lifecycle_stage from ranked where recency = 1 and lifecycle_stage is not null
"""


def history(database) -> list[tuple]:
    return sorted(query(database, STAGE_ON_DATE_SQL))


def history_rows(database) -> list[tuple]:
    return sorted(query(database, "select * from marts.customer_stage_history"))


def recorded_dates(database) -> list[dt.date]:
    return [row[0] for row in query(database, "select as_of_date from marts.stage_history_dates order by 1")]


# After Feb 6: alice back to repeat from at_risk that day, bob new since Feb 3, carol a prospect since Jan 25.
THREE_DATE_STAGE_CHANGES = sorted([(ALICE, "at_risk", FEB6), (BOB, None, FEB3), (CAROL, None, JAN25)])


def stage_changes(database) -> list[tuple]:
    sql = "select customer_key, previous_stage, stage_changed_on from marts.customer_lifecycle"
    return sorted(query(database, sql))


def test_history_gives_the_stage_of_every_person_on_every_date(three_dates):
    assert recorded_dates(three_dates) == [JAN25, FEB3, FEB6]
    assert history(three_dates) == THREE_DATE_HISTORY


def test_history_keeps_changes_only(three_dates):
    rows = query(three_dates, "select valid_from, customer_key, lifecycle_stage from marts.customer_stage_history")
    # carol never changed: one row; alice one per stage she moved into; bob from the date he became known
    assert [r for r in rows if r[1] == CAROL] == [(JAN25, CAROL, "prospect")]
    assert sorted(r for r in rows if r[1] == ALICE and r[0] in (JAN25, FEB3, FEB6)) >= [
        (JAN25, ALICE, "repeat"),
        (FEB3, ALICE, "at_risk"),
        (FEB6, ALICE, "repeat"),
    ]
    assert min(r[0] for r in rows if r[1] == BOB) == FEB3
    # each row differs from the person's row before in at least one tracked column
    assert query(
        three_dates,
        """
        select count(*) from (
            select
                lifecycle_stage, rfm_segment, is_vip, engagement,
                lag(lifecycle_stage) over w as stage_before, lag(rfm_segment) over w as segment_before,
                lag(is_vip) over w as vip_before, lag(engagement) over w as engagement_before,
                row_number() over w as n
            from marts.customer_stage_history
            window w as (partition by customer_key order by valid_from)
        )
        where n > 1 and lifecycle_stage is not distinct from stage_before
            and rfm_segment is not distinct from segment_before and is_vip is not distinct from vip_before
            and engagement is not distinct from engagement_before
        """,
    ) == [(0,)]


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


def test_rerunning_a_date_adds_nothing_and_full_refresh_keeps_history(built_dates, tmp_path):
    database = warehouse_after(built_dates, FEB6, tmp_path)
    rows = history_rows(database)
    build(database, FEB6)
    assert history_rows(database) == rows
    # As of Feb 3 again (recorded): the history up to Feb 3 agrees, so the build passes and appends nothing;
    # alice moved from repeat on Feb 3 (Feb 6 is ignored).
    build(database, FEB3)
    assert history_rows(database) == rows
    assert query(
        database,
        f"select previous_stage, stage_changed_on from marts.customer_lifecycle where customer_key = {ALICE}",
    ) == [("repeat", FEB3)]
    build(database, FEB6, "--full-refresh")
    assert history_rows(database) == rows
    assert recorded_dates(database) == [JAN25, FEB3, FEB6]
    assert stage_changes(database) == THREE_DATE_STAGE_CHANGES


def test_an_earlier_date_appends_nothing_and_a_test_says_what_to_do(built_dates, tmp_path):
    database = warehouse_after(built_dates, JAN25, tmp_path)
    build(database, FEB6)
    rows = history_rows(database)
    assert query(database, "select from_as_of_date, to_as_of_date from marts.stage_transitions group by all") == [
        (JAN25, FEB6)
    ]
    # Feb 3 lies before the latest recorded date: the history is left as it is and the agreement test fails.
    result = build(database, FEB3, check=False)
    assert result.returncode != 0
    assert "assert_history_agrees_with_the_lifecycle" in result.stdout
    assert history_rows(database) == rows
    assert recorded_dates(database) == [JAN25, FEB6]
    # The next run of the latest date is fine again.
    build(database, FEB6)
    assert history_rows(database) == rows


def test_a_night_without_changes_adds_no_row_but_is_a_recorded_date(built_dates, tmp_path):
    """Feb 7: alice 2 days since her last purchase (repeat), bob 6 / 10 (new), carol a prospect: nobody changes.
    A run that still passes the retired var stage_history_keep_days is told it changes nothing."""
    database = warehouse_after(built_dates, FEB6, tmp_path)
    rows = history_rows(database)
    feb7 = FEB6 + dt.timedelta(days=1)
    result = build(database, feb7, stage_history_keep_days=3)
    assert "var 'stage_history_keep_days' is no longer read" in result.stdout
    assert history_rows(database) == rows
    assert recorded_dates(database) == [JAN25, FEB3, FEB6, feb7]
    assert sorted(r for r in transitions(database) if r[1] == feb7) == sorted(
        [
            (FEB6, feb7, "new", "new", 1),
            (FEB6, feb7, "prospect", "prospect", 1),
            (FEB6, feb7, "repeat", "repeat", 1),
        ]
    )


def raw_with_invalid(tmp_path, *order_ids: str):
    """A copy of the fixture's raw files in which the given orders have an invalid status (staging quarantines
    them: edited in place, they stop being valid orders)."""
    raw = tmp_path / "raw"
    shutil.copytree(RAW, raw)
    orders = raw / "orders.csv"
    lines = orders.read_text().splitlines(keepends=True)
    orders.write_text(
        "".join(
            line.replace(",completed,", ",lost_in_transit,") if line.split(",")[0] in order_ids else line
            for line in lines
        )
    )
    return raw


def test_a_person_no_longer_known_gets_a_row_without_state(built_dates, tmp_path):
    """bob's only order becomes invalid (quarantined) after Feb 3: from Feb 6 he is not known, so the history gets
    a row with NULL state, he moves nowhere in the transitions, and the history agrees with the lifecycle."""
    database = warehouse_after(built_dates, FEB3, tmp_path)
    build(database, FEB6, raw=raw_with_invalid(tmp_path, "b1"))
    assert query(
        database,
        f"select lifecycle_stage, rfm_segment, is_vip, engagement from marts.customer_stage_history"
        f" where customer_key = {BOB} and valid_from = '{FEB6}'",
    ) == [(None, None, None, None)]
    assert (FEB6, BOB, "new") not in history(database)
    assert sorted(r for r in transitions(database) if r[1] == FEB6) == sorted(
        [(FEB3, FEB6, "at_risk", "repeat", 1), (FEB3, FEB6, "prospect", "prospect", 1)]
    )
    assert BOB not in [row[0] for row in stage_changes(database)]


def test_rerunning_the_latest_date_on_changed_data_fails_the_agreement_test(built_dates, tmp_path):
    """alice's Feb 5 order becomes invalid after the Feb 6 run: as of Feb 6 she is now at_risk (16 / 10), but her
    recorded Feb 6 row (repeat) cannot be replaced without a DELETE, so nothing is appended and the test fails."""
    database = warehouse_after(built_dates, FEB6, tmp_path)
    rows = history_rows(database)
    result = build(database, FEB6, raw=raw_with_invalid(tmp_path, "a4"), check=False)
    assert result.returncode != 0
    assert re.search(r"FAIL \d+ assert_history_agrees_with_the_lifecycle", result.stdout)
    # (bob's RFM segment may move with alice's recency: he may get a row; alice gets none)
    assert [r for r in history_rows(database) if r[0] == ALICE] == [r for r in rows if r[0] == ALICE]
