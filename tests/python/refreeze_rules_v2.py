"""Lifecycle rules version 2 (CHANGELOG.md): prove that the new rules change only what they own in the frozen
marts (tests/python/frozen_marts.py), and refreeze exactly that.

    python tests/python/refreeze_rules_v2.py           # compare and print the before/after numbers
    python tests/python/refreeze_rules_v2.py --write   # the same, then rewrite the changed columns

"Before" is the committed frozen reference (the marts of the version-1 rules, which the frozen test pins);
"after" is a build of the current models, made as the reference was made (frozen_marts.build_case). Every frozen
table is compared row by row on its key. The run fails unless
  - the tables in V2_COLUMNS differ only in their listed columns (the v2 rules' own output),
  - rows appear or disappear only in the audiences and in the direction ROW_CHANGES allows, and in
    abandoned_cart_reminders only for persons the new archive rule archives,
  - every other table, column and audience (service_callback) is unchanged.
--write then rewrites only the tables in V2_COLUMNS: the build's rows, the listed columns from the build, every
other column of a row that was already frozen from the old reference (so unchanged values stay byte for byte).
"""

from __future__ import annotations

import argparse
import math
import shutil
import sys
from collections import Counter
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).parent))
from dbt_harness import PROJECT_DIR  # noqa: E402
from frozen_marts import CASES, FROZEN, build_case, raw_dir_of, relation_queries  # noqa: E402
from test_frozen_marts import current_sql  # noqa: E402

REL_TOL = 1e-9  # as test_frozen_marts

KEYS = {
    "customer_lifecycle": ["customer_key"],
    "campaign_audiences": ["customer_key", "audience"],
    "abandoned_cart_reminders": ["session_id"],
    "fct_orders": ["order_id"],
    "lifecycle_summary": ["lifecycle_stage"],
    "rfm_summary": ["summary_level", "rfm_segment", "r_score", "f_score"],
    "stage_transitions": ["from_as_of_date", "to_as_of_date", "from_stage", "to_stage"],
    "quarantine_summary": ["source_name", "quarantine_reason"],
    "stage_on_date": ["customer_key", "as_of_date"],
}

# The columns the v2 rules own, per frozen table (new columns included).
V2_COLUMNS = {
    # is_vip / was_vip / vip_score: VIP among non-lapsed buyers; is_archived: cold and not active; f_score and the
    # segment read from it: F from purchase_days.
    "customer_lifecycle": {"is_vip", "was_vip", "vip_score", "is_archived", "f_score", "rfm_segment"},
    # reason: the first_purchase / post_purchase / replenishment wording; purchase_number: new.
    "campaign_audiences": {"reason", "vip_score", "purchase_number"},
    # F moves buyers between the cells of the R x F grid.
    "rfm_summary": {"buyers", "share_of_buyers", "net_revenue", "orders", "avg_m_score", "avg_days_since_last_order"},
    # The history tracks is_vip and rfm_segment.
    "stage_on_date": {"is_vip", "rfm_segment"},
    # Rows only: carts of newly archived persons lose their reminder.
    "abandoned_cart_reminders": set(),
}

# audience -> which way its rows may change: "+" rows added only, "-" removed only, "+-" both, "" none.
ROW_CHANGES = {
    "first_purchase": "-",  # archived prospects leave
    "post_purchase": "+",  # any purchase, not only a first one (a new buyer is active, so never archived)
    "replenishment": "+",  # every active buyer, not only repeat ones
    "reactivation": "-",  # at_risk buyers who are cold are archived now
    "vip_reward": "+-",  # other VIPs
    "abandoned_cart": "-",  # archived persons get no reminder
    "service_callback": "",
}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=1e-12) or (math.isnan(a) and math.isnan(b))
    return a == b


def _rows(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    cursor = con.execute(sql)
    names = [c[0] for c in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def compare_table(table: str, before: list[dict], after: list[dict]) -> dict:
    """Rows removed / added (by key) and, per column, the matched rows whose value differs."""
    key = KEYS[table]
    old = {tuple(r[k] for k in key): r for r in before}
    new = {tuple(r[k] for k in key): r for r in after}
    assert len(old) == len(before) and len(new) == len(after), f"{table}: key {key} is not unique"
    removed = [old[k] for k in old.keys() - new.keys()]
    added = [new[k] for k in new.keys() - old.keys()]
    old_columns = list(before[0]) if before else []
    new_columns = list(after[0]) if after else old_columns
    differing: Counter[str] = Counter()
    differing_keys: dict[str, list[tuple]] = {}
    for k in sorted(old.keys() & new.keys(), key=str):
        for column in new_columns:
            if column in old_columns and not _same(old[k][column], new[k][column]):
                differing[column] += 1
                differing_keys.setdefault(column, []).append(k)
    return {
        "removed": removed,
        "added": added,
        "differing": differing,
        "differing_keys": differing_keys,
        "new_columns": [c for c in new_columns if c not in old_columns],
        "dropped_columns": [c for c in old_columns if c not in new_columns],
    }


def check_case(case: str, con: duckdb.DuckDBPyConnection) -> tuple[list[str], set[str]]:
    """Compare every frozen table of the case with the build; return the rule breaches (empty = proven) and the
    tables that differ."""
    problems, changed = [], set()
    queries = relation_queries(con)
    lifecycle_before = {
        r["customer_key"]: r for r in _rows(con, f"select * from '{FROZEN / case}/customer_lifecycle.parquet'")
    }
    lifecycle_after = {r["customer_key"]: r for r in _rows(con, "select * from marts.customer_lifecycle")}
    for path in sorted((FROZEN / case).glob("*.parquet")):
        table = path.stem
        before = _rows(con, f"select * from '{path}'")
        if table == "stage_on_date":
            # The state of P on each frozen date, read from the new history as test_frozen_marts does.
            after = _rows(con, current_sql(case, table, list(before[0])))
        else:
            after = _rows(con, queries[table])
        result = compare_table(table, before, after) if table in KEYS else _compare_whole(before, after)
        allowed = V2_COLUMNS.get(table, set())
        print(
            f"  {table}: {len(before)} -> {len(after)} rows; removed {len(result['removed'])}, "
            f"added {len(result['added'])}; columns differing {dict(sorted(result['differing'].items())) or '-'}"
            + (f"; new columns {result['new_columns']}" if result["new_columns"] else "")
        )
        if result["removed"] or result["added"] or result["differing"] or result["new_columns"]:
            changed.add(table)
        outside = set(result["differing"]) - allowed
        if outside:
            problems.append(f"{case} {table}: columns outside the v2 rules differ: {sorted(outside)}")
        if set(result["new_columns"]) - allowed or result["dropped_columns"]:
            problems.append(
                f"{case} {table}: columns added {result['new_columns']}, dropped {result['dropped_columns']}"
            )
        if table == "campaign_audiences":
            problems += _check_audience_rows(case, result)
            reworded = {audience for _, audience in result["differing_keys"].get("reason", [])}
            if reworded - {"first_purchase", "post_purchase", "replenishment"}:
                problems.append(f"{case} {table}: reason changed in {sorted(reworded)}")
        elif table == "customer_lifecycle":
            for (person,) in result["differing_keys"].get("is_archived", []):
                row = lifecycle_after[person]
                if not row["is_archived"] or row["engagement"] != "cold" or row["lifecycle_stage"] == "lapsed":
                    problems.append(f"{case} {table}: is_archived of {person} changed against the new rule")
        elif table == "abandoned_cart_reminders":
            if result["added"]:
                problems.append(f"{case} {table}: reminders added")
            for row in result["removed"]:
                person = row["customer_key"]
                if lifecycle_before[person]["is_archived"] or not lifecycle_after[person]["is_archived"]:
                    problems.append(f"{case} {table}: session {row['session_id']} removed, person not newly archived")
        elif result["removed"] or result["added"]:
            problems.append(f"{case} {table}: rows added or removed")
    return problems, changed


def _compare_whole(before: list[dict], after: list[dict]) -> dict:
    """Tables without a key (the quarantine row copies): compared as sorted row lists."""

    def order(row: dict) -> tuple:
        return tuple((value is None, str(value)) for value in row.values())

    as_tuples = (
        [tuple(r.values()) for r in sorted(before, key=order)],
        [tuple(r.values()) for r in sorted(after, key=order)],
    )
    same = len(as_tuples[0]) == len(as_tuples[1]) and all(
        all(_same(a, b) for a, b in zip(x, y, strict=True)) for x, y in zip(*as_tuples, strict=True)
    )
    return {
        "removed": [] if same else before,
        "added": [] if same else after,
        "differing": Counter(),
        "differing_keys": {},
        "new_columns": [],
        "dropped_columns": [],
    }


def _check_audience_rows(case: str, result: dict) -> list[str]:
    problems = []
    for direction, rows in (("-", result["removed"]), ("+", result["added"])):
        for audience, n in sorted(Counter(r["audience"] for r in rows).items()):
            if direction not in ROW_CHANGES[audience]:
                problems.append(
                    f"{case} campaign_audiences: {n} {audience} rows {'removed' if direction == '-' else 'added'}"
                )
    return problems


def rule_numbers(case: str, con: duckdb.DuckDBPyConnection) -> None:
    """The before/after figures the rules are about."""
    before = f"'{FROZEN / case}/customer_lifecycle.parquet'"

    def one(sql: str):
        return con.execute(sql).fetchone()

    for label, source in (("before", before), ("after", "marts.customer_lifecycle")):
        vips, lapsed_vips, archived, archived_prospects, archived_at_risk, archived_lapsed = one(
            f"""
            select count(*) filter (where is_vip), count(*) filter (where is_vip and lifecycle_stage = 'lapsed'),
                count(*) filter (where is_archived),
                count(*) filter (where is_archived and lifecycle_stage = 'prospect'),
                count(*) filter (where is_archived and lifecycle_stage = 'at_risk'),
                count(*) filter (where is_archived and lifecycle_stage = 'lapsed')
            from {source}
            """
        )
        print(
            f"  {label}: VIPs {vips} (lapsed {lapsed_vips}); archived {archived} (prospects {archived_prospects}, "
            f"at_risk {archived_at_risk}, lapsed {archived_lapsed})"
        )
    (was_vips,) = one("select count(*) filter (where was_vip) from marts.customer_lifecycle")
    stayed, f_changed, split_days = one(
        f"""
        select count(*) filter (where old.is_vip and new.is_vip), count(*) filter (where old.f_score <> new.f_score),
            count(*) filter (where new.order_count > new.purchase_days)
        from {before} as old inner join marts.customer_lifecycle as new using (customer_key)
        """
    )
    print(
        f"  was_vip (lapsed former heroes) {was_vips}; VIPs in both versions {stayed}; f_score changed for "
        f"{f_changed} buyers ({split_days} buyers have more orders than purchase days)"
    )
    audiences = con.execute(
        f"""
        with old as (select audience, count(*) as n from '{FROZEN / case}/campaign_audiences.parquet' group by 1),
        new as (select audience, count(*) as n from marts.campaign_audiences group by 1)
        select audience, coalesce(old.n, 0), coalesce(new.n, 0) from old full join new using (audience) order by 1
        """
    ).fetchall()
    print("  audience sizes before -> after: " + ", ".join(f"{a} {o} -> {n}" for a, o, n in audiences))


def write_changed(case: str, con: duckdb.DuckDBPyConnection, changed: set[str]) -> None:
    queries = relation_queries(con)
    for table, columns in V2_COLUMNS.items():
        if table not in changed:
            continue
        path = FROZEN / case / f"{table}.parquet"
        key = KEYS[table]
        if table == "stage_on_date":
            frozen_columns = [c[0] for c in con.execute(f"select * from '{path}' limit 0").description]
            new_sql = current_sql(case, table, frozen_columns)
        else:
            new_sql = queries[table]
        con.execute(f"create or replace temp view v2_new as {new_sql}")
        new_columns = [c[0] for c in con.execute("select * from v2_new limit 0").description]
        old_columns = {c[0] for c in con.execute(f"select * from '{path}' limit 0").description}
        join = " and ".join(f"old.{k} is not distinct from new.{k}" for k in key)
        matched = f"old.{key[0]} is not null"  # the first key column is never NULL
        select = ", ".join(
            f"new.{c}"
            if c in columns or c not in old_columns
            else f"case when {matched} then old.{c} else new.{c} end as {c}"
            for c in new_columns
        )
        order = ", ".join(f"{k}" for k in key)
        tmp = path.with_suffix(".new.parquet")
        con.execute(
            f"copy (select {select} from v2_new as new left join '{path}' as old on {join} order by {order}) "
            f"to '{tmp}' (format parquet, compression zstd)"
        )
        shutil.move(tmp, path)
        print(f"  rewrote {path.relative_to(PROJECT_DIR)}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite the v2 columns of the frozen reference")
    parser.add_argument("--case", choices=list(CASES), action="append", help="only this case (default: all)")
    parser.add_argument("--reuse", action="store_true", help="use the build of the previous call, if there is one")
    args = parser.parse_args()
    scratch = PROJECT_DIR / "target" / "refreeze_rules_v2"
    problems = []
    for case in args.case or list(CASES):
        database = scratch / case / "warehouse.duckdb"
        if not (args.reuse and database.exists()):
            shutil.rmtree(database.parent, ignore_errors=True)
            database.parent.mkdir(parents=True)
            build_case(case, raw_dir_of(case, scratch / case), database)
        print(f"{case}:")
        with duckdb.connect(str(database)) as con:
            case_problems, changed = check_case(case, con)
            rule_numbers(case, con)
            problems += case_problems
            if args.write and not case_problems:
                write_changed(case, con, changed)
    for problem in problems:
        print("PROBLEM:", problem)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
