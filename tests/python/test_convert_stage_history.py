"""`dbt run-operation convert_stage_history_to_changes` (macros/convert_stage_history.sql) on a per-date history.

The old project version cannot be built in-tree, so a warehouse built by the new one on the history fixture
(test_history.py) gets a per-date customer_stage_history written by hand, in the old shape and column types,
for Jan 25, Feb 3 and Feb 6:

| person | Jan 25                  | Feb 3                   | Feb 6                     | converted rows        |
|--------|-------------------------|-------------------------|---------------------------|-----------------------|
| alice  | repeat, loyal           | at_risk, loyal          | repeat, champions         | all three (changes)   |
| bob    | -                       | new, promising          | new, lost                 | Feb 3 (new), Feb 6    |
| carol  | prospect                | prospect                | prospect                  | Jan 25 only (stays)   |
| dave   | new, promising (10 d)   | new, promising (19 d)   | -                         | Jan 25, NULL on Feb 6 |
| erin   | prospect                | -                       | -                         | Jan 25, NULL on Feb 3 |

is_vip false and engagement unknown throughout; dave's days_since_last_order moves, which is not tracked. The
Feb 6 rows are what the project computes for Feb 6 on the fixture, so a build for Feb 6 agrees with them.
"""

from __future__ import annotations

import duckdb
from conftest import FIXTURES
from dbt_harness import WITHOUT_PREDICTION, person_key, query, run_dbt
from test_history import ALICE, BOB, CAROL, FEB3, FEB6, HISTORY_BUILD, JAN25, history_rows, recorded_dates

RAW = FIXTURES / "history_raw"
DAVE, ERIN = person_key("dave@example.com"), person_key("erin@example.com")
OPERATION = ["run-operation", "convert_stage_history_to_changes"]

# The old table's DDL (git show a2c376f:models/marts/history/_history__models.yml).
OLD_HISTORY_DDL = """
    create table marts.customer_stage_history (
        customer_key bigint, as_of_date date, lifecycle_stage varchar, rfm_segment varchar, is_vip boolean,
        engagement varchar, is_subscribed boolean, r_score integer, f_score integer, m_score integer,
        order_count bigint, net_revenue decimal(28, 6), days_since_last_order bigint, overdue_ratio double,
        expected_next_order_date date
    )
"""

# (customer_key, as_of_date, lifecycle_stage, rfm_segment, days_since_last_order); the other columns below.
OLD_ROWS = [
    (ALICE, JAN25, "repeat", "loyal", 4),
    (ALICE, FEB3, "at_risk", "loyal", 13),
    (ALICE, FEB6, "repeat", "champions", 1),
    (BOB, FEB3, "new", "promising", 2),
    (BOB, FEB6, "new", "lost", 5),
    (CAROL, JAN25, "prospect", None, None),
    (CAROL, FEB3, "prospect", None, None),
    (CAROL, FEB6, "prospect", None, None),
    (DAVE, JAN25, "new", "promising", 10),
    (DAVE, FEB3, "new", "promising", 19),
    (ERIN, JAN25, "prospect", None, None),
]

GONE = (None, None, None, None)
CONVERTED = sorted(
    [
        (ALICE, JAN25, "repeat", "loyal", False, "unknown"),
        (ALICE, FEB3, "at_risk", "loyal", False, "unknown"),
        (ALICE, FEB6, "repeat", "champions", False, "unknown"),
        (BOB, FEB3, "new", "promising", False, "unknown"),
        (BOB, FEB6, "new", "lost", False, "unknown"),
        (CAROL, JAN25, "prospect", None, False, "unknown"),
        (DAVE, JAN25, "new", "promising", False, "unknown"),
        (DAVE, FEB6, *GONE),
        (ERIN, JAN25, "prospect", None, False, "unknown"),
        (ERIN, FEB3, *GONE),
    ]
)


def write_old_history(database) -> None:
    with duckdb.connect(str(database)) as con:
        con.execute("drop table marts.customer_stage_history")
        con.execute("drop table marts.stage_history_dates")
        con.execute(OLD_HISTORY_DDL)
        for key, as_of, stage, segment, days in OLD_ROWS:
            known_buyer = days is not None
            con.execute(
                "insert into marts.customer_stage_history values (?, ?, ?, ?, false, 'unknown', true, ?, ?, ?, ?, ?, "
                "?, ?, ?)",
                [key, as_of, stage, segment, *([3, 3, 3, 2, 100.5, days, 0.4, FEB6] if known_buyer else [None] * 8)],
            )


def build_feb6(database, check: bool = True, command: str = "build"):
    """dbt as of Feb 6; a build runs every model and the history's data tests (test_history.HISTORY_BUILD)."""
    selection = HISTORY_BUILD if command == "build" else []
    dbt_vars = {"as_of_date": FEB6.isoformat(), **WITHOUT_PREDICTION}
    return run_dbt([command, *selection], RAW, database, dbt_vars, check=check)


def test_a_per_date_history_is_converted_to_changes_in_place(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    build_feb6(database, command="run")  # the setup: models only, the tests come below
    write_old_history(database)

    # What an old warehouse meets: the first design-2 run stops on the history (its incremental select reads
    # valid_from from the stored table) after recording its as-of date in stage_history_dates.
    result = build_feb6(database, check=False)
    assert result.returncode != 0
    assert "Failure in model customer_stage_history" in result.stdout
    assert recorded_dates(database) == [FEB6]

    result = run_dbt(OPERATION, RAW, database)
    assert "Converted" in result.stdout
    assert history_rows(database) == CONVERTED
    assert recorded_dates(database) == [JAN25, FEB3, FEB6]
    assert query(
        database,
        "select column_name, data_type from information_schema.columns"
        " where table_schema = 'marts' and table_name = 'customer_stage_history' order by ordinal_position",
    ) == [
        ("customer_key", "BIGINT"),
        ("valid_from", "DATE"),
        ("lifecycle_stage", "VARCHAR"),
        ("rfm_segment", "VARCHAR"),
        ("is_vip", "BOOLEAN"),
        ("engagement", "VARCHAR"),
    ]
    assert query(database, "select count(*) from information_schema.tables where table_name like '%converted%'") == [
        (0,)
    ]

    # The next build of the latest date passes (history agreement test included) and appends nothing.
    build_feb6(database)
    assert history_rows(database) == CONVERTED
    assert recorded_dates(database) == [JAN25, FEB3, FEB6]
    assert sorted(
        query(database, "select customer_key, previous_stage, stage_changed_on from marts.customer_lifecycle")
    ) == sorted([(ALICE, "at_risk", FEB6), (BOB, None, FEB3), (CAROL, None, JAN25)])

    # Converted already: the operation says so and changes nothing.
    result = run_dbt(OPERATION, RAW, database)
    assert "already changes only" in result.stdout
    assert history_rows(database) == CONVERTED


def test_nothing_to_convert_without_a_history(tmp_path):
    database = tmp_path / "warehouse.duckdb"
    result = run_dbt(OPERATION, RAW, database)
    assert "does not exist: nothing to convert" in result.stdout
    assert query(database, "select count(*) from information_schema.tables where table_schema = 'marts'") == [(0,)]
