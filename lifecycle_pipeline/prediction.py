"""DuckDB side of the prediction: what the dbt Python models in models/intermediate/prediction/ call.

The models hand over DuckDB relations of per-buyer BTYD facts (frequency, recency_days, tenure_days,
avg_repeat_order_value, customer_key); DuckDB groups them into distinct rows with counts, the fits and scores
(lifecycle_pipeline.btyd) run on those few rows, and DuckDB joins the scores back to the buyers. Nothing here
holds one Python object per buyer. The distinct rows are sorted, so that a re-run adds the same numbers in the
same order and fits the same parameters to the last bit.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pyarrow as pa

from . import btyd

FIT_COLUMNS = {
    "purpose": pa.string(),
    "model": pa.string(),
    "parameter": pa.string(),
    "value": pa.float64(),
    "buyers": pa.int64(),
    "log_likelihood": pa.float64(),
    "converged": pa.bool_(),
    "iterations": pa.int32(),
    "frequency_monetary_correlation": pa.float64(),
    "reason": pa.string(),
}


def _numpy(relation: duckdb.DuckDBPyRelation, sql: str) -> dict[str, np.ndarray]:
    """`sql` over the relation (named `facts` in it), as numpy arrays (NULLs as NaN)."""
    columns = relation.query("facts", sql).fetchnumpy()
    return {name: np.ma.filled(np.ma.asarray(values, dtype=np.float64), np.nan) for name, values in columns.items()}


def fit(facts: duckdb.DuckDBPyRelation, min_buyers: int, with_value: bool = True) -> tuple[btyd.Fit, ...]:
    """BG/NBD over every buyer and, `with_value`, Gamma-Gamma over the repeat buyers with a positive mean repeat
    value (avg_repeat_order_value)."""
    histories = _numpy(
        facts,
        "select frequency, recency_days, tenure_days, count(*) as buyers from facts "
        "where frequency is not null group by frequency, recency_days, tenure_days "
        "order by frequency, recency_days, tenure_days",
    )
    bg = btyd.fit_bgnbd(
        histories["frequency"],
        histories["recency_days"],
        histories["tenure_days"],
        histories["buyers"],
        min_buyers=min_buyers,
    )
    if not with_value:
        return (bg,)
    values = _numpy(
        facts,
        "select frequency, avg_repeat_order_value, count(*) as buyers from facts "
        "where frequency > 0 and avg_repeat_order_value > 0 group by frequency, avg_repeat_order_value "
        "order by frequency, avg_repeat_order_value",
    )
    gg = btyd.fit_gamma_gamma(
        values["frequency"], values["avg_repeat_order_value"], values["buyers"], min_buyers=min_buyers
    )
    return bg, gg


def fit_rows(purpose: str, fits: tuple[btyd.Fit, ...]) -> pa.Table:
    """One row per model and parameter (value NULL when the model was not fitted), with the fit's facts."""
    rows: dict[str, list] = {name: [] for name in FIT_COLUMNS}
    for one in fits:
        for parameter in btyd.PARAMETER_NAMES[one.model]:
            rows["purpose"].append(purpose)
            rows["model"].append(one.model)
            rows["parameter"].append(parameter)
            rows["value"].append(one.params[parameter] if one.ok else None)
            rows["buyers"].append(one.buyers)
            rows["log_likelihood"].append(one.log_likelihood)
            rows["converged"].append(one.converged)
            rows["iterations"].append(one.iterations)
            rows["frequency_monetary_correlation"].append(one.extras.get("frequency_monetary_correlation"))
            rows["reason"].append(one.reason)
    return pa.table({name: pa.array(values, type=FIT_COLUMNS[name]) for name, values in rows.items()})


def fitted_params(fits: duckdb.DuckDBPyRelation, purpose: str) -> dict[str, dict[str, float] | None]:
    """model -> {parameter: value} from the rows fit_rows wrote, None for a model that was not fitted."""
    found: dict[str, dict[str, float] | None] = {}
    for model, parameter, value in fits.query(
        "fits", f"select model, parameter, value from fits where purpose = '{purpose}'"
    ).fetchall():
        params = found.setdefault(model, {})
        if value is None or params is None:
            found[model] = None
        else:
            params[parameter] = float(value)
    # A model without rows (the backtest fits BG/NBD only) counts as not fitted.
    return {model: found.get(model) for model in btyd.PARAMETER_NAMES}


def score(
    session: duckdb.DuckDBPyConnection,
    facts: duckdb.DuckDBPyRelation,
    params: dict[str, dict[str, float] | None],
    horizon_days: int,
    name: str,
    with_value: bool = True,
    keep: tuple[str, ...] = ("customer_key",),
) -> duckdb.DuckDBPyRelation:
    """For every buyer in `facts`: its `keep` columns, p_alive, expected_orders (purchase days in the next
    horizon_days) and, `with_value`, expected_order_value and predicted_clv_365d; NULL where a model was not
    fitted. BG/NBD scores each distinct (frequency, recency_days, tenure_days), Gamma-Gamma each distinct
    (frequency, avg_repeat_order_value); DuckDB joins them back to the buyers. `name` keeps the registered score
    tables of two models apart."""
    bg, gg = params[btyd.BG_NBD], params[btyd.GAMMA_GAMMA]
    histories = _numpy(
        facts, "select distinct frequency, recency_days, tenure_days from facts where frequency is not null"
    )
    x, t_x, T = histories["frequency"], histories["recency_days"], histories["tenure_days"]
    with np.errstate(all="ignore"):
        scores = {
            "p_alive": _or_nan(bg, btyd.p_alive, x, t_x, T),
            "expected_orders": _or_nan(bg, btyd.expected_purchases, horizon_days, x, t_x, T),
        }
        if with_value:
            scores["expected_orders_365d"] = _or_nan(bg, btyd.expected_purchases, 365, x, t_x, T)
    session.register(f"{name}_by_history", pa.table({**histories, **_nullable(scores)}))
    kept = ", ".join(f"facts.{column}" for column in keep)
    history_join = f"""
        inner join {name}_by_history as by_history
            on facts.frequency = by_history.frequency
            and facts.recency_days = by_history.recency_days
            and facts.tenure_days = by_history.tenure_days"""
    if not with_value:
        return facts.query(
            "facts",
            f"select {kept}, by_history.p_alive, by_history.expected_orders "
            f"from facts {history_join} where facts.frequency is not null",
        )
    values = _numpy(facts, "select distinct frequency, avg_repeat_order_value from facts where frequency is not null")
    x_m, m = values["frequency"], values["avg_repeat_order_value"]
    value = {"expected_order_value": _or_nan(gg, btyd.expected_order_value, x_m, m)}
    session.register(f"{name}_by_value", pa.table({**values, **_nullable(value)}))
    # Two joins in two steps: in one query DuckDB would see by_history.frequency = by_value.frequency through
    # facts and could join the two score tables first, on frequency alone (millions × millions of rows).
    return facts.query(
        "facts",
        f"""
        with scored as materialized (
            select
                {kept},
                facts.frequency,
                facts.avg_repeat_order_value,
                by_history.p_alive,
                by_history.expected_orders,
                by_history.expected_orders_365d
            from facts
            {history_join}
            where facts.frequency is not null
        )
        select
            {", ".join(f"scored.{column}" for column in keep)},
            scored.p_alive,
            scored.expected_orders,
            by_value.expected_order_value,
            scored.expected_orders_365d * by_value.expected_order_value as predicted_clv_365d
        from scored
        inner join {name}_by_value as by_value
            on scored.frequency = by_value.frequency
            and scored.avg_repeat_order_value = by_value.avg_repeat_order_value
        """,
    )


def _or_nan(params, function, *args) -> np.ndarray:
    """function(params, *args), or NaN for every row when the model was not fitted (params None)."""
    if params is None:
        return np.full(len(args[-1]), np.nan)
    return function(params, *args)


def _nullable(columns: dict[str, np.ndarray]) -> dict[str, pa.Array]:
    """Float columns with NaN (not fitted, or not computable) as NULL."""
    return {name: pa.array(values, type=pa.float64(), from_pandas=True) for name, values in columns.items()}
