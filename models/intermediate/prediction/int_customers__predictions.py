"""Per buyer as of the as-of date: P(alive), expected purchase days in the next prediction_horizon_days, the
expected value of a purchase day and the predicted value of the next 365 days, from the `prediction` fits of
int_btyd__fits. NULL where a model was not fitted. customer_lifecycle carries the columns."""

from lifecycle_pipeline import prediction


def model(dbt, session):
    dbt.config(materialized="table")
    horizon_days = int(dbt.config.get("prediction_horizon_days"))
    params = prediction.fitted_params(dbt.ref("int_btyd__fits"), "prediction")
    facts = dbt.ref("int_customers__order_facts")
    return prediction.score(session, facts, params, horizon_days, "int_customers__predictions").query(
        "scores",
        "select customer_key, p_alive, expected_orders as expected_orders_90d, expected_order_value, "
        "predicted_clv_365d from scores",
    )
