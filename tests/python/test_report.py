"""The report's pure functions, on hand-computed values: shares that add up (largest remainder), the "what
changed since the last run" lines, the transitions period, the empty-F-scores note and the audience rules."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from lifecycle_pipeline.report import (
    audience_rule,
    empty_f_scores_note,
    largest_remainder,
    period_start,
    what_changed,
)


def test_largest_remainder_gives_the_missing_units_to_the_largest_remainders():
    # 2, 3, 7 of 12 = 16.667 %, 25 %, 58.333 %: rounded down 16, 25, 58 = 99; the 1 left goes to 16.667 (.667
    # is the largest remainder), not to 58.333 (.333).
    assert largest_remainder([2, 3, 7], digits=0) == [17, 25, 58]
    # In tenths: 166.67, 250, 583.33 → 166 + 250 + 583 = 999; the tenth left goes to the first.
    assert largest_remainder([2, 3, 7]) == [16.7, 25.0, 58.3]
    # Thirds: equal remainders, the earlier value first.
    assert largest_remainder([1, 1, 1]) == [33.4, 33.3, 33.3]
    assert largest_remainder([1, 1, 1], digits=0) == [34, 33, 33]


def test_largest_remainder_fixes_the_stage_shares_that_added_up_to_99_9():
    # Persons of the sample's five stages: rounded one by one (6.25 and 7.55 both round down in floating point)
    # they give 29.9 + 6.2 + 16.0 + 7.5 + 40.3 = 99.9 %, the report's old total.
    persons = [598, 125, 320, 151, 806]
    naive = [round(p / 2000 * 100, 1) for p in persons]
    assert naive == [29.9, 6.2, 16.0, 7.5, 40.3] and round(sum(naive), 1) == 99.9
    # quotas 29.90, 6.25, 16.00, 7.55, 40.30 → tenths rounded down 299, 62, 160, 75, 403 = 999; the remainders
    # are .0, .5, .0, .5, .0 (up to float error in the naive sum; exact here): the earlier .5 (new) gets it.
    assert largest_remainder(persons) == [29.9, 6.3, 16.0, 7.5, 40.3]
    assert sum(largest_remainder(persons)) == pytest.approx(100.0)


def test_largest_remainder_takes_decimals_and_other_totals_and_all_zeros():
    revenue = [Decimal("0.10"), Decimal("0.20"), Decimal("0.70")]
    assert largest_remainder(revenue, digits=0) == [10, 20, 70]
    assert largest_remainder([1, 1, 1, 1, 1, 1, 1], total=1, digits=2) == [0.15, 0.15, 0.14, 0.14, 0.14, 0.14, 0.14]
    assert largest_remainder([0, 0, 0]) == [0.0, 0.0, 0.0]
    assert largest_remainder([]) == []
    assert largest_remainder([0, 5]) == [0.0, 100.0]
    with pytest.raises(ValueError):
        largest_remainder([3, -1])


FEB3, FEB6 = dt.date(2024, 2, 3), dt.date(2024, 2, 6)


def test_what_changed_counts_moves_first_buyers_won_back_and_slipped():
    moves = {
        ("prospect", "prospect"): 10,
        ("prospect", "new"): 2,  # first purchase
        ("not_known", "new"): 3,  # known and buying at once: first purchase too
        ("not_known", "prospect"): 4,  # signed up
        ("repeat", "repeat"): 20,
        ("repeat", "at_risk"): 5,  # slipped
        ("new", "lapsed"): 1,  # slipped
        ("at_risk", "lapsed"): 2,  # slipped
        ("at_risk", "repeat"): 6,  # won back
        ("lapsed", "new"): 0,  # an empty pair counts nowhere
    }
    before = {"prospect": 12, "new": 1, "repeat": 25, "at_risk": 8, "lapsed": 0}
    after = {"prospect": 14, "new": 5, "repeat": 26, "at_risk": 5, "lapsed": 3}
    lines = what_changed(FEB3, FEB6, moves, before, after, purchases=14, revenue=Decimal("1234.5"))
    assert lines == [
        # changed: 2 + 5 + 1 + 2 + 6 = 16 (not the 7 newly known); first purchases: 2 + 3 = 5
        "Since the last run (2024-02-03 → 2024-02-06, 3 days): 16 persons changed stage, 7 persons became known, "
        "5 persons made a first purchase.",
        "14 purchases brought 1,234.50 in net revenue.",
        "6 buyers won back (at risk or lapsed → new or repeat); 8 buyers slipped (active → at risk or lapsed, or "
        "at risk → lapsed).",
        "Largest moves: at_risk → repeat 6, repeat → at_risk 5, at_risk → lapsed 2.",  # ties: by stage name
        "Persons per stage: prospect 12 → 14 (+2); new 1 → 5 (+4); repeat 25 → 26 (+1); at_risk 8 → 5 (-3); "
        "lapsed 0 → 3 (+3).",
    ]


def test_what_changed_on_a_quiet_night_says_so_in_the_singular():
    moves = {("repeat", "repeat"): 3, ("prospect", "at_risk"): 1}
    counts = {"repeat": 3, "at_risk": 1}
    lines = what_changed(FEB3, FEB3 + dt.timedelta(days=1), moves, {"repeat": 3, "prospect": 1}, counts)
    assert lines == [
        "Since the last run (2024-02-03 → 2024-02-04, 1 day): 1 person changed stage, 0 persons became known, "
        "1 person made a first purchase.",
        "0 buyers won back (at risk or lapsed → new or repeat); 0 buyers slipped (active → at risk or lapsed, or "
        "at risk → lapsed).",
        "Largest moves: prospect → at_risk 1.",
        "Persons per stage: prospect 1 → 0 (-1); at_risk 0 → 1 (+1).",
    ]
    unchanged = what_changed(FEB3, FEB6, {("repeat", "repeat"): 3}, counts, counts)
    assert unchanged[-1] == "Persons per stage: no change."
    assert not any(line.startswith("Largest moves") for line in unchanged)


def test_the_transitions_period_starts_30_days_back_or_at_the_first_date():
    daily = [dt.date(2024, 1, 1) + dt.timedelta(days=i) for i in range(40)]  # Jan 1 … Feb 9
    assert period_start(daily) == dt.date(2024, 1, 10)  # Feb 9 − 30 days
    weekly = [dt.date(2024, 1, 1) + dt.timedelta(weeks=i) for i in range(8)]  # Jan 1 … Feb 19
    assert period_start(weekly) == dt.date(2024, 1, 15)  # the latest date on or before Jan 20
    assert period_start([FEB3, FEB6]) == FEB3
    assert period_start([FEB6]) == FEB6


def test_empty_f_scores_note_names_the_empty_scores_and_the_one_time_buyers():
    note = empty_f_scores_note({1: 645, 3: 300, 4: 250, 5: 207})
    assert note.startswith("No buyer has F score 2: ")
    assert "the 645 buyers with F 1 (46% of all buyers, more than a fifth)" in note  # 645 / 1,402
    assert empty_f_scores_note({1: 1, 5: 1}).startswith("No buyer has F score 2, 3, 4: ")
    assert empty_f_scores_note({1: 5, 2: 5, 3: 5, 4: 5, 5: 5}) == ""
    assert empty_f_scores_note({}) == ""


def test_audience_rules_read_the_project_vars():
    assert audience_rule("post_purchase", {"post_purchase_days": 21}) == (
        "buyers whose latest purchase was at most 21 days ago, not archived"
    )
    assert audience_rule("replenishment", {}) == "active buyers whose next purchase is expected within 7 days"
    assert audience_rule("something_new", {}) == ""
