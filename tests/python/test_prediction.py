"""The prediction in dbt: int_btyd__fits, the scores in customer_lifecycle and campaign_audiences, the backtest,
the guard rails and the engines without Python models (var prediction_enabled false stands in for them).

Raw orders are simulated from BG/NBD itself (fixed seed): 320 buyers, each with a gamma-distributed purchase
rate and a beta-distributed drop-out probability, several orders on some days, some orders after the as-of
date, every buyer subscribed (so at_risk / lapsed buyers reach the reactivation audience). The fit runs with
min_buyers_for_prediction 100; the guard-rail build re-runs the prediction with the default 500.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pytest
from dbt_harness import query, run_dbt, target_path

from lifecycle_pipeline import btyd, report
from lifecycle_pipeline import summary as run_summary

AS_OF = dt.date(2025, 6, 30)
HORIZON = 90
CUTOFF = AS_OF - dt.timedelta(days=HORIZON)
BUYERS = 320
FIT_VARS = {"as_of_date": AS_OF.isoformat(), "min_buyers_for_prediction": 100}
HEADERS = {
    "sessions": "session_id,visitor_id,customer_id,email,started_at,ended_at,device,channel,page_views,cart_adds,"
    "cart_value,order_id",
    "email_events": "event_id,email,campaign_id,event_type,occurred_at",
}
PREDICTION_MODELS = {
    "int_btyd__fits",
    "int_customers__predictions",
    "int_customers__backtest_facts",
    "int_customers__backtest_predictions",
    "btyd_parameters",
    "prediction_backtest",
}


def simulate_orders(seed: int = 11) -> list[dict]:
    rng = np.random.default_rng(seed)
    start = dt.datetime(2023, 7, 1)
    orders = []
    for c in range(BUYERS):
        email = f"b{c:03d}@predict.test"
        rate = rng.gamma(1.5, 1 / 60.0)  # purchases per day
        dropout = rng.beta(1.0, 4.0)
        value = rng.gamma(4.0, 15.0)
        moment = start + dt.timedelta(days=float(rng.uniform(0, 720)), hours=float(rng.uniform(0, 20)))
        while moment.date() <= AS_OF + dt.timedelta(days=20):
            for _ in range(1 + int(rng.random() < 0.15)):  # sometimes two orders on one day
                orders.append(
                    {"email": email, "ordered_at": moment, "amount": round(float(rng.gamma(8.0, value / 8)), 2)}
                )
            if rng.random() < dropout:
                break
            moment += dt.timedelta(days=float(rng.exponential(1 / rate)) + 1)
    return orders


def write_raw(folder: Path, orders: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "orders.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["order_id", "customer_id", "email", "ordered_at", "status", "amount"])
        for i, o in enumerate(orders):
            writer.writerow([f"o{i}", "", o["email"], o["ordered_at"].isoformat(), "completed", o["amount"]])
    with open(folder / "newsletter_signups.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["signup_id", "email", "signed_up_at", "source", "unsubscribed_at"])
        for i, email in enumerate(sorted({o["email"] for o in orders})):
            writer.writerow([f"n{i}", email, "2023-01-01T00:00:00", "checkout", ""])
    for name, header in HEADERS.items():
        (folder / f"{name}.csv").write_text(header + "\n")
    return folder


@pytest.fixture(scope="module")
def orders() -> list[dict]:
    return simulate_orders()


@pytest.fixture(scope="module")
def raw(orders, tmp_path_factory) -> Path:
    return write_raw(tmp_path_factory.mktemp("prediction_raw"), orders)


@pytest.fixture(scope="module")
def fitted_db(raw, tmp_path_factory) -> Path:
    database = tmp_path_factory.mktemp("prediction_fitted") / "warehouse.duckdb"
    run_dbt(["build"], raw, database, FIT_VARS)
    return database


def _copy(database: Path, folder: Path) -> Path:
    copy = folder / "warehouse.duckdb"
    shutil.copyfile(database, copy)
    return copy


@pytest.fixture(scope="module")
def guarded_db(fitted_db, raw, tmp_path_factory) -> Path:
    """The fitted build, then the prediction and what reads it rebuilt (with their tests) at the default
    min_buyers_for_prediction (500 > 320 buyers)."""
    database = _copy(fitted_db, tmp_path_factory.mktemp("prediction_guarded"))
    run_dbt(["build", "--select", "int_btyd__fits+"], raw, database, {"as_of_date": AS_OF.isoformat()})
    return database


def rows(database: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(database), read_only=True) as con:
        cursor = con.execute(sql)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def buyer_facts(database: Path) -> dict[str, np.ndarray]:
    with duckdb.connect(str(database), read_only=True) as con:
        return con.execute(
            "select customer_key, frequency, recency_days, tenure_days, avg_repeat_order_value, p_alive, "
            "expected_orders_90d, expected_order_value, predicted_clv_365d from marts.customer_lifecycle "
            "where frequency is not null order by customer_key"
        ).fetchnumpy()


def params_of(database: Path, purpose: str, model: str) -> dict[str, float]:
    return {
        r["parameter"]: r["value"]
        for r in rows(
            database, f"select * from marts.btyd_parameters where purpose = '{purpose}' and model = '{model}'"
        )
    }


# --------------------------------------------------------------------------------------------------------
# Fitted
# --------------------------------------------------------------------------------------------------------


def test_simulated_data_has_enough_buyers_and_repeat_buyers(fitted_db):
    [(buyers, repeat)] = query(
        fitted_db,
        "select count(*), sum(case when frequency > 0 then 1 else 0 end) from marts.customer_lifecycle "
        "where frequency is not null",
    )
    assert buyers == BUYERS
    assert 100 <= repeat < buyers


def test_btyd_parameters_are_the_python_fit_of_the_buyers(fitted_db):
    facts = buyer_facts(fitted_db)
    bg = btyd.fit_bgnbd(*btyd.compress(facts["frequency"], facts["recency_days"], facts["tenure_days"]), min_buyers=100)
    repeat = facts["frequency"] > 0
    gg = btyd.fit_gamma_gamma(
        *btyd.compress(facts["frequency"][repeat], facts["avg_repeat_order_value"][repeat]), min_buyers=100
    )
    published = rows(fitted_db, "select * from marts.btyd_parameters where purpose = 'prediction'")
    assert len(published) == 7
    for fit in (bg, gg):
        assert fit.converged
        mine = [r for r in published if r["model"] == fit.model]
        assert {r["parameter"]: r["value"] for r in mine} == pytest.approx(fit.params, rel=1e-9)
        for r in mine:
            assert r["buyers"] == fit.buyers and r["converged"] and r["reason"] is None
            assert r["log_likelihood"] == pytest.approx(fit.log_likelihood, rel=1e-12)
            assert r["iterations"] > 0
            assert r["fit_as_of_date"] == r["as_of_date"] == AS_OF
    assert bg.buyers == BUYERS and gg.buyers == int(repeat.sum())
    correlations = [r["frequency_monetary_correlation"] for r in published if r["model"] == "gamma_gamma"]
    assert correlations == pytest.approx([gg.extras["frequency_monetary_correlation"]] * 3, rel=1e-9)
    assert {r["frequency_monetary_correlation"] for r in published if r["model"] == "bg_nbd"} == {None}


def test_customer_lifecycle_carries_the_scores_of_each_buyer(fitted_db):
    facts = buyer_facts(fitted_db)
    bg, gg = params_of(fitted_db, "prediction", "bg_nbd"), params_of(fitted_db, "prediction", "gamma_gamma")
    expected = btyd.score(
        bg, gg, facts["frequency"], facts["recency_days"], facts["tenure_days"], facts["avg_repeat_order_value"], 90
    )
    np.testing.assert_allclose(facts["p_alive"], expected["p_alive"], rtol=1e-12)
    np.testing.assert_allclose(facts["expected_orders_90d"], expected["expected_orders"], rtol=1e-12)
    np.testing.assert_allclose(facts["expected_order_value"], expected["expected_order_value"], rtol=1e-12)
    np.testing.assert_allclose(facts["predicted_clv_365d"], expected["predicted_clv_365d"], rtol=1e-12)
    assert 0 < facts["p_alive"].min() < 0.5 and facts["p_alive"].max() == 1.0
    [(prospects, scored)] = query(
        fitted_db,
        "select count(*), count(p_alive) + count(expected_orders_90d) + count(expected_order_value) "
        "+ count(predicted_clv_365d) from marts.customer_lifecycle where frequency is null",
    )
    assert scored == 0


def test_p_alive_is_lower_where_the_rule_says_lapsed(fitted_db):
    by_stage = dict(
        query(
            fitted_db,
            "select lifecycle_stage, avg(p_alive) from marts.customer_lifecycle where frequency > 0 group by 1",
        )
    )
    assert by_stage["lapsed"] < by_stage["repeat"]


def test_reactivation_and_vip_reward_carry_predicted_clv(fitted_db):
    audiences = rows(
        fitted_db,
        """
        select audiences.audience, audiences.predicted_clv_365d, lifecycle.predicted_clv_365d as lifecycle_clv
        from marts.campaign_audiences as audiences
        inner join marts.customer_lifecycle as lifecycle on audiences.customer_key = lifecycle.customer_key
        """,
    )
    carrying = [a for a in audiences if a["audience"] in ("reactivation", "vip_reward")]
    assert {a["audience"] for a in carrying} == {"reactivation", "vip_reward"}
    assert all(a["predicted_clv_365d"] == a["lifecycle_clv"] is not None for a in carrying)
    others = [a for a in audiences if a["audience"] not in ("reactivation", "vip_reward")]
    assert others and all(a["predicted_clv_365d"] is None for a in others)


# --------------------------------------------------------------------------------------------------------
# Backtest
# --------------------------------------------------------------------------------------------------------


def purchase_days_by_buyer(orders: list[dict]) -> dict[str, list[dt.date]]:
    days: dict[str, set[dt.date]] = {}
    for o in orders:
        if o["ordered_at"].date() <= AS_OF:
            days.setdefault(o["email"], set()).add(o["ordered_at"].date())
    return {email: sorted(d) for email, d in days.items()}


def test_backtest_counts_what_happened_after_the_cutoff(fitted_db, orders):
    days = purchase_days_by_buyer(orders)
    calibrated = {e: d for e, d in days.items() if d[0] <= CUTOFF}
    actual = {e: sum(1 for day in d if day > CUTOFF) for e, d in calibrated.items()}
    [overall] = rows(fitted_db, "select * from marts.prediction_backtest where segment = 'all'")
    assert overall["buyers"] == len(calibrated) < BUYERS
    assert overall["actual_purchase_days"] == sum(actual.values()) > 0
    assert overall["buyers_who_bought"] == sum(1 for n in actual.values() if n > 0)
    assert overall["cutoff_date"] == CUTOFF and overall["horizon_days"] == HORIZON and overall["reason"] is None
    # The backtest fit saw only the days up to the cutoff.
    backtest_fit = rows(fitted_db, "select * from marts.btyd_parameters where purpose = 'backtest'")
    assert {r["model"] for r in backtest_fit} == {"bg_nbd"}
    assert {r["buyers"] for r in backtest_fit} == {len(calibrated)}
    assert {r["fit_as_of_date"] for r in backtest_fit} == {CUTOFF}


def test_backtest_predictions_are_the_backtest_fit_applied_at_the_cutoff(fitted_db, orders):
    days = purchase_days_by_buyer(orders)
    facts = {
        e: (
            len([x for x in d if x <= CUTOFF]) - 1,
            (max(x for x in d if x <= CUTOFF) - d[0]).days,
            (CUTOFF - d[0]).days,
        )
        for e, d in days.items()
        if d[0] <= CUTOFF
    }
    x, t_x, T = (np.array(column, dtype=float) for column in zip(*facts.values(), strict=True))
    expected = btyd.expected_purchases(params_of(fitted_db, "backtest", "bg_nbd"), HORIZON, x, t_x, T)
    [overall] = rows(fitted_db, "select * from marts.prediction_backtest where segment = 'all'")
    assert overall["predicted_purchase_days"] == pytest.approx(expected.sum(), rel=1e-12)


def test_backtest_deciles_add_up_and_rank_the_buyers(fitted_db):
    deciles = rows(fitted_db, "select * from marts.prediction_backtest where segment = 'decile' order by decile")
    [overall] = rows(fitted_db, "select * from marts.prediction_backtest where segment = 'all'")
    assert [d["decile"] for d in deciles] == list(range(1, 11))
    assert sum(d["buyers"] for d in deciles) == overall["buyers"]
    assert sum(d["actual_purchase_days"] for d in deciles) == overall["actual_purchase_days"]
    assert sum(d["predicted_purchase_days"] for d in deciles) == pytest.approx(overall["predicted_purchase_days"])
    means = [d["mean_predicted_purchase_days"] for d in deciles]
    assert means == sorted(means)
    # the model separates buyers: the top tenth bought more than the bottom half
    assert deciles[-1]["mean_actual_purchase_days"] > max(d["mean_actual_purchase_days"] for d in deciles[:5])
    for d in [*deciles, overall]:
        assert d["bias"] == pytest.approx(d["mean_predicted_purchase_days"] - d["mean_actual_purchase_days"])
        assert d["mean_absolute_error"] >= abs(d["bias"]) - 1e-12


def test_lapsed_by_rule_are_the_buyers_the_stage_rule_calls_lapsed_at_the_cutoff(fitted_db, raw, orders, tmp_path):
    """The lifecycle built as of the cutoff (prediction off: not needed) calls the same buyers lapsed as the
    backtest's recomputation of the rule."""
    at_cutoff = tmp_path / "at_cutoff.duckdb"
    run_dbt(
        ["run", "--select", "+customer_lifecycle"],
        raw,
        at_cutoff,
        {"as_of_date": CUTOFF.isoformat(), "prediction_enabled": False},
    )
    lapsed = {
        k
        for (k,) in query(
            at_cutoff, "select customer_key from marts.customer_lifecycle where lifecycle_stage = 'lapsed'"
        )
    }
    was_lapsed = {
        k
        for (k,) in query(
            fitted_db, "select customer_key from intermediate.int_customers__backtest_facts where was_lapsed"
        )
    }
    assert lapsed == was_lapsed and lapsed
    came_back = {
        k
        for (k,) in query(
            fitted_db,
            "select customer_key from intermediate.int_customers__backtest_facts where holdout_purchase_days > 0",
        )
    }
    [row] = rows(fitted_db, "select * from marts.prediction_backtest where segment = 'lapsed_by_rule'")
    assert row["buyers"] == len(lapsed)
    assert row["buyers_who_bought"] == len(lapsed & came_back)


# --------------------------------------------------------------------------------------------------------
# Guard rails and engines without Python models
# --------------------------------------------------------------------------------------------------------


def test_too_few_buyers_give_nulls_and_the_reason(guarded_db):
    published = rows(guarded_db, "select * from marts.btyd_parameters order by purpose, model, parameter")
    assert len(published) == 11
    assert all(r["value"] is None and not r["converged"] and r["iterations"] == 0 for r in published)
    reasons = {(r["purpose"], r["model"]): r["reason"] for r in published}
    assert reasons[("prediction", "bg_nbd")] == f"{BUYERS} buyers, fewer than min_buyers_for_prediction 500"
    assert reasons[("prediction", "gamma_gamma")].endswith("repeat buyers, fewer than min_buyers_for_prediction 500")
    assert reasons[("backtest", "bg_nbd")].endswith("buyers, fewer than min_buyers_for_prediction 500")
    [(scored, buyers)] = query(
        guarded_db,
        "select count(p_alive) + count(expected_orders_90d) + count(expected_order_value) + count(predicted_clv_365d), "
        "count(frequency) from marts.customer_lifecycle",
    )
    assert scored == 0 and buyers == BUYERS
    assert query(guarded_db, "select count(predicted_clv_365d) from marts.campaign_audiences") == [(0,)]
    [overall] = rows(guarded_db, "select * from marts.prediction_backtest where segment = 'all'")
    assert overall["predicted_purchase_days"] is None and overall["actual_purchase_days"] > 0
    assert overall["reason"] == reasons[("backtest", "bg_nbd")]
    assert query(guarded_db, "select count(*) from marts.prediction_backtest where segment = 'decile'") == [(0,)]


def test_without_python_models_the_prediction_is_skipped_and_its_columns_are_null(fitted_db, raw, tmp_path):
    database = _copy(fitted_db, tmp_path)
    result = run_dbt(
        ["build", "--select", "customer_lifecycle", "campaign_audiences"],
        raw,
        database,
        {"as_of_date": AS_OF.isoformat(), "prediction_enabled": False},
    )
    assert result.returncode == 0
    manifest = json.loads((target_path(database) / "manifest.json").read_text())
    enabled = {node["name"] for node in manifest["nodes"].values()}
    disabled = {nodes[0]["name"] for nodes in manifest["disabled"].values()}
    assert disabled >= PREDICTION_MODELS and not PREDICTION_MODELS & enabled
    [(buyers, scored)] = query(
        database,
        "select count(frequency), count(p_alive) + count(expected_orders_90d) + count(expected_order_value) "
        "+ count(predicted_clv_365d) from marts.customer_lifecycle",
    )
    assert buyers == BUYERS and scored == 0
    assert query(database, "select count(predicted_clv_365d) from marts.campaign_audiences") == [(0,)]


# --------------------------------------------------------------------------------------------------------
# Run summary and report
# --------------------------------------------------------------------------------------------------------


def test_run_summary_gives_the_fits_and_the_backtest(fitted_db):
    with duckdb.connect(str(fitted_db), read_only=True) as con:
        summary = run_summary.collect(con)
    fits = summary["prediction"]["fits"]
    assert set(fits) == {"prediction.bg_nbd", "prediction.gamma_gamma", "backtest.bg_nbd"}
    assert fits["prediction.bg_nbd"]["fitted"] and fits["prediction.bg_nbd"]["buyers"] == BUYERS
    assert list(fits["prediction.bg_nbd"]["params"]) == ["r", "alpha", "a", "b"]
    [overall] = rows(fitted_db, "select * from marts.prediction_backtest where segment = 'all'")
    assert summary["prediction"]["backtest"]["actual_purchase_days"] == overall["actual_purchase_days"]
    text = run_summary.format_text(summary)
    assert f"prediction BG/NBD: {BUYERS} buyers, r " in text
    assert f"backtest: {overall['buyers']} buyers predicted" in text


def test_run_summary_and_report_say_why_nothing_was_predicted(guarded_db):
    with duckdb.connect(str(guarded_db), read_only=True) as con:
        summary = run_summary.collect(con)
        section = report.section_prediction(con, summary)
    text = run_summary.format_text(summary)
    assert f"prediction BG/NBD: not fitted — {BUYERS} buyers, fewer than min_buyers_for_prediction 500" in text
    assert "backtest:" not in text
    assert f"bg_nbd not fitted: {BUYERS} buyers, fewer than min_buyers_for_prediction 500" in section
    assert "No backtest: its fit was not made" in section and "<svg" not in section


def test_report_shows_p_alive_by_stage_and_the_backtest(fitted_db):
    with duckdb.connect(str(fitted_db), read_only=True) as con:
        summary = run_summary.collect(con)
        html = report.render(con, summary)
    section = html.split("<h2>Prediction: who is still a customer, and how accurate that is</h2>", 1)[1]
    section = section.split("</section>", 1)[0]
    assert section.count("<svg") == 2
    assert "P(alive): how likely each stage" in section and "Backtest: purchase days per buyer" in section
    [lapsed] = rows(fitted_db, "select * from marts.prediction_backtest where segment = 'lapsed_by_rule'")
    assert f"The stage rule called <b>{lapsed['buyers']:,}</b> of them lapsed" in section
    assert f"<b>{lapsed['buyers_who_bought']:,}</b>" in section


def test_report_without_the_prediction_marts_says_so():
    with duckdb.connect() as con:
        assert "the prediction models run on DuckDB only" in report.section_prediction(con, {})
