"""The run summary: what was read, what was rejected, where people stand, and where the outputs are.

`collect` reads everything from the built database into a plain dict (JSON-ready); `format_text` turns
it into the console summary. The HTML report reads the same dict plus its own chart queries.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from .catalog import SOURCES, STAGES, table_exists

TOP_REASONS = 3
PARAMETER_ORDER = ["r", "alpha", "a", "b", "p", "q", "v"]  # BG/NBD, then Gamma-Gamma


def _rows(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    return con.execute(sql, params or []).fetchall()


def collect(con: duckdb.DuckDBPyConnection) -> dict:
    """Figures for the summary, read from one (work or published) database."""
    summary: dict = {"sources": {}, "stages": {}, "audiences": {}}
    reasons: dict[str, list[tuple[str, int]]] = {source: [] for source in SOURCES}
    if table_exists(con, "quarantine", "quarantine_summary"):
        for source, reason, count in _rows(
            con,
            "select source_name, quarantine_reason, quarantined_rows from quarantine.quarantine_summary "
            "order by source_name, quarantined_rows desc, quarantine_reason",
        ):
            reasons.setdefault(source, []).append((reason, int(count)))
    for source in SOURCES:
        # Records read = rows landed: a CSV record the reader set aside is landed too (row_defect), the raw view
        # leaves it out (docs/raw-data-contract.md "Strict parsing").
        base = f"base_shop__{source}"
        read = _rows(con, f"select count(*) from staging.{base}")[0][0] if table_exists(con, "staging", base) else None
        quarantined = sum(count for _, count in reasons.get(source, []))
        summary["sources"][source] = {
            "rows_read": read,
            "quarantined": quarantined,
            "quarantine_share": round(quarantined / read, 6) if read else 0.0,
            "top_reasons": [{"reason": r, "rows": c} for r, c in reasons.get(source, [])[:TOP_REASONS]],
        }

    if table_exists(con, "staging", "base_shop__sessions"):
        # Usable sessions whose ended_at was before started_at: staged with ended_at = started_at (the contract).
        summary["sessions_end_set_to_start"] = _rows(
            con,
            "select count(*) from staging.base_shop__sessions "
            "where row_defect is null and ended_at_or_null < started_at",
        )[0][0]

    summary["as_of_date"] = None
    if table_exists(con, "marts", "customer_lifecycle"):
        as_of, persons, vips = _rows(
            con,
            "select max(as_of_date), count(*), sum(case when is_vip then 1 else 0 end) from marts.customer_lifecycle",
        )[0]
        summary["as_of_date"] = as_of.isoformat() if isinstance(as_of, dt.date) else as_of
        summary["persons"] = persons
        summary["vips"] = int(vips or 0)
    if table_exists(con, "marts", "lifecycle_summary"):
        found = dict(_rows(con, "select lifecycle_stage, persons from marts.lifecycle_summary"))
        summary["stages"] = {stage: int(found.get(stage, 0)) for stage in STAGES}
    if table_exists(con, "marts", "campaign_audiences"):
        summary["audiences"] = {
            audience: count
            for audience, count in _rows(
                con, "select audience, count(*) from marts.campaign_audiences group by audience order by audience"
            )
        }
    if table_exists(con, "marts", "abandoned_cart_reminders"):
        summary["reminders_due"] = _rows(con, "select count(*) from marts.abandoned_cart_reminders")[0][0]
    if table_exists(con, "marts", "btyd_parameters"):
        summary["prediction"] = collect_prediction(con)
    return summary


def collect_prediction(con: duckdb.DuckDBPyConnection) -> dict:
    """Per fit (`prediction` models, `backtest`): fitted or not (with the reason), buyers and parameters; the
    backtest's overall predicted vs actual purchase days."""
    fits: dict = {}
    for purpose, model, parameter, value, buyers, converged, correlation, reason in _rows(
        con,
        "select purpose, model, parameter, value, buyers, converged, frequency_monetary_correlation, reason "
        "from marts.btyd_parameters order by purpose desc, model",
    ):
        fit = fits.setdefault(
            f"{purpose}.{model}",
            {"fitted": reason is None, "buyers": int(buyers), "converged": bool(converged), "reason": reason},
        )
        fit.setdefault("params", {})[parameter] = value
        if correlation is not None:
            fit["frequency_monetary_correlation"] = round(float(correlation), 4)
    prediction: dict = {"fits": fits}
    if table_exists(con, "marts", "prediction_backtest"):
        found = _rows(
            con,
            "select buyers, predicted_purchase_days, actual_purchase_days, mean_absolute_error, bias "
            "from marts.prediction_backtest where segment = 'all'",
        )
        if found:
            buyers, predicted, actual, error, bias = found[0]
            prediction["backtest"] = {
                "buyers": int(buyers),
                "predicted_purchase_days": None if predicted is None else round(float(predicted), 1),
                "actual_purchase_days": int(actual),
                "mean_absolute_error": None if error is None else round(float(error), 4),
                "bias": None if bias is None else round(float(bias), 4),
            }
    return prediction


def prediction_lines(prediction: dict) -> list[str]:
    """One line per prediction model (its fit or why there is none) and the backtest's overall figures."""
    lines = []
    names = {"prediction.bg_nbd": "BG/NBD", "prediction.gamma_gamma": "Gamma-Gamma", "backtest.bg_nbd": "backtest fit"}
    for key, name in names.items():
        fit = prediction["fits"].get(key)
        if fit is None:
            continue
        if not fit["fitted"]:
            lines.append(f"  prediction {name}: not fitted — {fit['reason']}")
            continue
        params = ", ".join(f"{p} {fit['params'][p]:.4g}" for p in PARAMETER_ORDER if p in fit["params"])
        extra = ""
        if "frequency_monetary_correlation" in fit:
            extra = f"; frequency–value correlation {fit['frequency_monetary_correlation']:+.2f}"
        lines.append(f"  prediction {name}: {fit['buyers']:,} buyers, {params}{extra}")
    backtest = prediction.get("backtest")
    if backtest and backtest["predicted_purchase_days"] is not None:
        lines.append(
            f"  backtest: {backtest['buyers']:,} buyers predicted {backtest['predicted_purchase_days']:,.1f} purchase "
            f"days, bought {backtest['actual_purchase_days']:,} "
            f"(mean absolute error {backtest['mean_absolute_error']:.3f} per buyer)"
        )
    return lines


def format_text(summary: dict) -> str:
    """The console summary: short, aligned, one fact per line."""
    lines = [f"Run {summary.get('status', '?')} — as of {summary.get('as_of_date') or 'unknown'}"]
    lines.append("")
    lines.append(f"  {'source':<20}{'rows read':>12}{'quarantined':>13}  top reasons")
    for source, figures in summary["sources"].items():
        top = ", ".join(f"{r['reason']} {r['rows']}" for r in figures["top_reasons"]) or "-"
        read = figures["rows_read"] if figures["rows_read"] is not None else "?"
        share = f"{figures['quarantined']} ({figures['quarantine_share']:.1%})"
        lines.append(f"  {source:<20}{read!s:>12}{share:>13}  {top}")
    if summary.get("sessions_end_set_to_start"):
        ended = summary["sessions_end_set_to_start"]
        lines.append(f"  sessions ending before they started: {ended} (ended_at set to started_at)")
    if summary.get("stages"):
        lines.append("")
        stages = "  ".join(f"{stage} {count}" for stage, count in summary["stages"].items())
        lines.append(f"  persons {summary.get('persons', '?')}: {stages}")
        lines.append(f"  VIPs {summary.get('vips', '?')}, cart reminders due {summary.get('reminders_due', '?')}")
        audiences = ", ".join(f"{name} {count}" for name, count in summary.get("audiences", {}).items()) or "none"
        lines.append(f"  audiences: {audiences}")
    if summary.get("prediction"):
        lines += prediction_lines(summary["prediction"])
    if summary.get("phases"):
        lines.append("")
        phases = ", ".join(f"{name} {seconds:.1f}s" for name, seconds in summary["phases"].items())
        lines.append(f"  time: {phases} (total {sum(summary['phases'].values()):.1f}s)")
    failed = [check for check in summary.get("checks", []) if not check["ok"]]
    if summary.get("checks"):
        lines.append(f"  checks: {len(summary['checks']) - len(failed)} of {len(summary['checks'])} passed")
    if summary.get("outputs"):
        lines.append("")
        width = max(len(name) for name in summary["outputs"]) + 2
        for name, where in summary["outputs"].items():
            lines.append(f"  {name:<{width}}{where}")
    return "\n".join(lines)
