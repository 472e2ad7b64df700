"""Per buyer who had bought by the backtest's cutoff: P(alive) at the cutoff and the purchase days expected
in the prediction_horizon_days after it, from the `backtest` fit of int_btyd__fits, beside the purchase days
that happened and whether the stage rule called the buyer lapsed at the cutoff. prediction_backtest
summarises it."""

from lifecycle_pipeline import prediction

CARRIED = ("customer_key", "cutoff_date", "as_of_date", "frequency", "holdout_purchase_days", "was_lapsed")


def model(dbt, session):
    dbt.config(materialized="table")
    horizon_days = int(dbt.config.get("prediction_horizon_days"))
    params = prediction.fitted_params(dbt.ref("int_btyd__fits"), "backtest")
    facts = dbt.ref("int_customers__backtest_facts")
    scores = prediction.score(
        session, facts, params, horizon_days, "int_customers__backtest_predictions", with_value=False, keep=CARRIED
    )
    return scores.query(
        "scores",
        "select customer_key, cutoff_date, as_of_date, frequency, p_alive, expected_orders as predicted_purchase_days, "
        "holdout_purchase_days as actual_purchase_days, was_lapsed from scores",
    )
