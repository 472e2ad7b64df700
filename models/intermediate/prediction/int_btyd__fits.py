"""BG/NBD and Gamma-Gamma fitted by maximum likelihood on the buyers as of the as-of date (purpose `prediction`,
what customer_lifecycle is scored with), and BG/NBD again as of the backtest's cutoff, prediction_horizon_days
earlier (purpose `backtest`). One row per purpose, model and parameter; marts.btyd_parameters publishes them.

A fit that cannot be made (fewer than min_buyers_for_prediction buyers, no convergence) gives NULL values and
its reason; the build goes on. The math: lifecycle_pipeline/btyd.py; the DuckDB side: lifecycle_pipeline/
prediction.py.
"""

import pyarrow as pa

from lifecycle_pipeline import prediction


def model(dbt, session):
    dbt.config(materialized="table")
    min_buyers = int(dbt.config.get("min_buyers_for_prediction"))
    current = prediction.fit(dbt.ref("int_customers__order_facts"), min_buyers)
    backtest = prediction.fit(dbt.ref("int_customers__backtest_facts"), min_buyers, with_value=False)
    return pa.concat_tables([prediction.fit_rows("prediction", current), prediction.fit_rows("backtest", backtest)])
