"""One self-contained HTML report of a run: charts as inline SVG drawn by matplotlib, no network needed.

The report is a list of sections (`SECTIONS`); each is a function `(con, summary) -> html` so that new
sections (for example lifecycle transitions over a date range) can be added without touching the others.
A section whose mart is missing renders a short note instead of failing the run.
"""

from __future__ import annotations

import datetime as dt
import html
import io
from collections.abc import Callable

import duckdb
import matplotlib

matplotlib.use("Agg")  # no display needed; must come before pyplot
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from . import PROJECT_DIR  # noqa: E402
from .catalog import STAGES, table_exists  # noqa: E402

STAGE_COLOURS = {
    "prospect": "#9aa5b1",
    "new": "#4c9be8",
    "repeat": "#2e8b57",
    "at_risk": "#f0a030",
    "lapsed": "#d64545",
}
ENGAGEMENT_COLOURS = {"warm": "#e07a3f", "cold": "#5b8fc7", "unknown": "#c9ced6"}

plt.rcParams.update(
    {
        "svg.fonttype": "none",  # keep text as text: searchable, smaller, crisp
        "svg.hashsalt": "customer-lifecycle",  # stable element ids: same data, same file
        "font.size": 10,
        "axes.titlesize": 12,
        "axes.titleweight": "bold",
        "axes.spines.top": False,
        "axes.spines.right": False,
    }
)


def _esc(value) -> str:
    return html.escape(str(value))


def _svg(fig) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _table(headers: list[str], rows: list[list], numeric: set[int] | None = None) -> str:
    """An HTML table; columns whose index is in `numeric` are right-aligned (default: all but the first)."""
    numeric = set(range(1, len(headers))) if numeric is None else numeric
    head = "".join(f"<th>{_esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = "".join(
            f'<td class="num">{_esc(v)}</td>' if i in numeric else f"<td>{_esc(v)}</td>" for i, v in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _missing(*tables: str) -> str:
    return f'<p class="note">Not available: {_esc(", ".join(tables))} not built in this run.</p>'


def _label_bars(ax, bars, labels: list[str]) -> None:
    for bar, label in zip(bars, labels, strict=True):
        ax.annotate(
            label,
            (bar.get_width(), bar.get_y() + bar.get_height() / 2),
            xytext=(4, 0),
            textcoords="offset points",
            va="center",
            fontsize=9,
        )


def _project_vars() -> dict:
    try:
        return yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8")).get("vars", {}) or {}
    except (OSError, yaml.YAMLError):
        return {}


def section_stages(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    if not table_exists(con, "marts", "lifecycle_summary"):
        return _missing("marts.lifecycle_summary")
    found = {
        row[0]: row[1:]
        for row in con.execute(
            "select lifecycle_stage, persons, share_of_persons, net_revenue, avg_order_value "
            "from marts.lifecycle_summary"
        ).fetchall()
    }
    persons = [int(found.get(s, (0,))[0] or 0) for s in STAGES]
    revenue = [float(found.get(s, (0, 0, 0))[2] or 0) for s in STAGES]
    total_persons, total_revenue = sum(persons) or 1, sum(revenue) or 1.0
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.4))
    colours = [STAGE_COLOURS[s] for s in STAGES]
    labels = [s.replace("_", " ") for s in STAGES]
    bars = left.barh(labels, persons, color=colours)
    _label_bars(left, bars, [f"{p:,} ({p / total_persons:.0%})" for p in persons])
    left.set_title("Persons per lifecycle stage")
    left.set_xlabel("persons")
    left.invert_yaxis()
    left.set_xlim(0, max(persons + [1]) * 1.3)
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    shares = [r / total_revenue for r in revenue]
    bars = right.barh(labels, [s * 100 for s in shares], color=colours)
    _label_bars(right, bars, [f"{s:.0%} ({r:,.0f})" for s, r in zip(shares, revenue, strict=True)])
    right.set_title("Share of net revenue per stage")
    right.set_xlabel("% of net revenue up to the as-of date")
    right.invert_yaxis()
    right.set_xlim(0, max([s * 100 for s in shares] + [1]) * 1.35)
    rows = []
    for stage in STAGES:
        p, share, rev, aov = found.get(stage, (0, 0, 0, None))
        rows.append(
            [
                stage,
                f"{int(p or 0):,}",
                f"{float(share or 0):.1%}",
                f"{float(rev or 0):,.2f}",
                "-" if aov is None else f"{float(aov):,.2f}",
            ]
        )
    rows.append(["total", f"{sum(persons):,}", "100%", f"{sum(revenue):,.2f}", ""])
    table = _table(["stage", "persons", "share of persons", "net revenue", "avg order value"], rows)
    return _svg(fig) + table


def section_rfm(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    if not table_exists(con, "marts", "customer_lifecycle"):
        return _missing("marts.customer_lifecycle")
    grid = np.zeros((5, 5), dtype=int)
    for r, f, n in con.execute(
        "select r_score, f_score, count(*) from marts.customer_lifecycle "
        "where r_score is not null and f_score is not null group by r_score, f_score"
    ).fetchall():
        if 1 <= r <= 5 and 1 <= f <= 5:
            grid[r - 1, f - 1] = n
    fig, ax = plt.subplots(figsize=(6.2, 4.8))
    image = ax.imshow(grid, cmap="YlGnBu", origin="lower")
    ax.set_xticks(range(5), [str(i) for i in range(1, 6)])
    ax.set_yticks(range(5), [str(i) for i in range(1, 6)])
    ax.set_xlabel("F score (5 = most purchase days)")
    ax.set_ylabel("R score (5 = most recent)")
    ax.set_title("Buyers by recency × frequency score")
    threshold = grid.max() / 2 if grid.max() else 1
    for r in range(5):
        for f in range(5):
            colour = "white" if grid[r, f] > threshold else "#222"
            ax.text(f, r, f"{grid[r, f]:,}", ha="center", va="center", color=colour, fontsize=9)
    fig.colorbar(image, ax=ax, label="persons", ticks=MaxNLocator(integer=True))
    return _svg(fig)


def section_overdue(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    if not table_exists(con, "marts", "customer_lifecycle"):
        return _missing("marts.customer_lifecycle")
    variables = _project_vars()
    at_risk, lapsed = float(variables.get("at_risk_factor", 1.1)), float(variables.get("lapsed_factor", 2.0))
    cap = max(4.0, lapsed * 2)
    bins = np.linspace(0, cap, 41)
    # Long-gone buyers (ratio above the cap) get their own panel, so they do not flatten the histogram.
    fig, (ax, tail) = plt.subplots(1, 2, figsize=(11, 3.8), sharey=False, gridspec_kw={"width_ratios": [9, 1]})
    series, colours, labels, above = [], [], [], []
    for stage in STAGES[1:]:
        values = [
            float(v)
            for (v,) in con.execute(
                "select overdue_ratio from marts.customer_lifecycle where lifecycle_stage = ? "
                "and overdue_ratio is not null",
                [stage],
            ).fetchall()
        ]
        series.append([v for v in values if v <= cap])
        above.append(sum(1 for v in values if v > cap))
        colours.append(STAGE_COLOURS[stage])
        labels.append(f"{stage.replace('_', ' ')} ({len(values):,})")
    ax.hist(series, bins=bins, stacked=True, color=colours, label=labels)
    for x, name in ((at_risk, "at_risk_factor"), (lapsed, "lapsed_factor")):
        ax.axvline(x, color="#333", linestyle="--", linewidth=1)
        ax.annotate(
            f"{name} {x:g}",
            (x, 1),
            xycoords=("data", "axes fraction"),
            xytext=(3, -12),
            textcoords="offset points",
            fontsize=8,
        )
    ax.set_title("Days since last order ÷ expected interval (overdue ratio), buyers by stage")
    ax.set_xlabel("overdue ratio (1 = exactly one expected interval since the last order)")
    ax.set_ylabel("persons")
    ax.set_xlim(0, cap)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False, loc="upper right")
    bottom = 0
    for count, colour in zip(above, colours, strict=True):
        tail.bar([0], [count], bottom=bottom, color=colour, width=0.6)
        bottom += count
    tail.annotate(f"{bottom:,}", (0, bottom), xytext=(0, 3), textcoords="offset points", ha="center", fontsize=9)
    tail.set_xticks([0], [f"> {cap:g}"])
    tail.set_xlim(-0.6, 0.6)
    tail.set_ylim(0, max(bottom, 1) * 1.15)
    tail.yaxis.set_major_locator(MaxNLocator(integer=True))
    tail.set_title("beyond", fontsize=10)
    return _svg(fig)


def section_vip_engagement(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    if not table_exists(con, "marts", "customer_lifecycle"):
        return _missing("marts.customer_lifecycle")
    rows = con.execute(
        "select lifecycle_stage, engagement, count(*), sum(case when is_vip then 1 else 0 end), "
        "sum(case when was_vip then 1 else 0 end) "
        "from marts.customer_lifecycle group by lifecycle_stage, engagement"
    ).fetchall()
    engagement = {e: [0] * len(STAGES) for e in ENGAGEMENT_COLOURS}
    vips = [0] * len(STAGES)
    former_vips = 0
    for stage, level, persons, vip, was_vip in rows:
        if stage not in STAGES:
            continue
        i = STAGES.index(stage)
        engagement.setdefault(level or "unknown", [0] * len(STAGES))[i] += persons
        vips[i] += int(vip or 0)
        former_vips += int(was_vip or 0)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.6))
    labels = [s.replace("_", " ") for s in STAGES]
    bottom = np.zeros(len(STAGES))
    tallest = max(sum(counts[i] for counts in engagement.values()) for i in range(len(STAGES))) or 1
    for level, counts in engagement.items():
        bars = left.bar(labels, counts, bottom=bottom, label=level, color=ENGAGEMENT_COLOURS.get(level, "#888"))
        # Label only segments tall enough to hold their number.
        texts = [f"{c:,}" if c >= tallest * 0.06 else "" for c in counts]
        left.bar_label(bars, labels=texts, label_type="center", fontsize=8)
        bottom += np.array(counts)
    left.set_title("Email engagement by stage")
    left.set_ylabel("persons")
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_ylim(0, tallest * 1.25)
    left.legend(frameon=False, title="engagement", ncol=3, loc="upper center")
    bars = right.bar(labels, vips, color=[STAGE_COLOURS[s] for s in STAGES])
    right.bar_label(bars, labels=[f"{v:,}" for v in vips], fontsize=9)
    right.set_title(f"VIPs by stage (total {sum(vips):,})")
    right.set_ylabel("VIP persons")
    right.set_ylim(0, max(vips + [1]) * 1.2)
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    audiences = summary.get("audiences") or {}
    table = _table(["audience", "persons"], [[a, f"{n:,}"] for a, n in audiences.items()]) if audiences else ""
    reminders = summary.get("reminders_due")
    note = f"<p>Abandoned-cart reminders due: <b>{reminders:,}</b></p>" if reminders is not None else ""
    vip_note = (
        "<p>VIPs are the best buyers among those who have not lapsed, so a lapsed buyer is never a VIP; "
        f"<b>{former_vips:,}</b> lapsed buyers would rank among them (<code>was_vip</code>, for win-back). "
        "Archived persons (cold and not active) are in no mailing audience.</p>"
    )
    return _svg(fig) + vip_note + "<h3>Campaign audiences</h3>" + (table or "<p>none</p>") + note


P_ALIVE_BANDS = [(0.0, 0.2), (0.2, 0.4), (0.4, 0.6), (0.6, 0.8), (0.8, 1.0)]
P_ALIVE_COLOURS = ["#d64545", "#f08a4b", "#f2c14e", "#9bc46a", "#2e8b57"]


def section_prediction(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    """P(alive) by stage, what the buyers of each stage are predicted to do, and the backtest: predicted vs actual
    purchase days per decile of predicted purchase days (docs/prediction.md)."""
    if not table_exists(con, "marts", "btyd_parameters"):
        return (
            '<p class="note">No prediction in this build: the prediction models run on DuckDB only (and not with '
            "var prediction_enabled false).</p>"
        )
    fits = con.execute(
        "select purpose, model, buyers, reason, frequency_monetary_correlation from marts.btyd_parameters "
        "group by all order by purpose desc, model"
    ).fetchall()
    notes = [
        f'<p class="note">{"Backtest" if purpose == "backtest" else "Prediction"} {_esc(model)} not fitted: '
        f"{_esc(reason)}.</p>"
        for purpose, model, _, reason, _ in fits
        if reason is not None
    ]
    correlation = [c for purpose, model, _, _, c in fits if purpose == "prediction" and c is not None]
    if correlation:
        notes.append(
            f"<p>Gamma-Gamma assumes a buyer's number of purchases and their average value are unrelated; here "
            f"they correlate at <b>{correlation[0]:+.2f}</b>"
            + (" (near 0: fine).</p>" if abs(correlation[0]) < 0.3 else " — value predictions deserve less trust.</p>")
        )
    by_stage = con.execute(
        "select lifecycle_stage, count(*), avg(p_alive), sum(expected_orders_90d), avg(predicted_clv_365d), "
        + ", ".join(
            f"sum(case when p_alive >= {low} and p_alive {'<=' if high == 1.0 else '<'} {high} then 1 else 0 end)"
            for low, high in P_ALIVE_BANDS
        )
        + " from marts.customer_lifecycle where p_alive is not null group by lifecycle_stage"
    ).fetchall()
    found = {row[0]: row[1:] for row in by_stage}
    stages = [s for s in STAGES if s in found]
    parts = list(notes)
    if stages:
        fig, ax = plt.subplots(figsize=(11, 0.55 * len(stages) + 1.2))
        labels = [f"{s.replace('_', ' ')} ({int(found[s][0]):,})" for s in stages]
        left = np.zeros(len(stages))
        for i, (low, high) in enumerate(P_ALIVE_BANDS):
            shares = np.array([found[s][4 + i] / found[s][0] * 100 for s in stages])
            bars = ax.barh(labels, shares, left=left, color=P_ALIVE_COLOURS[i], label=f"{low:.1f}–{high:.1f}")
            ax.bar_label(bars, labels=[f"{v:.0f}%" if v >= 6 else "" for v in shares], label_type="center", fontsize=8)
            left += shares
        ax.invert_yaxis()
        ax.set_xlim(0, 100)
        ax.set_xlabel("% of the stage's buyers")
        ax.set_title("P(alive): how likely each stage's buyers are still customers")
        ax.legend(frameon=False, title="P(alive)", loc="center left", bbox_to_anchor=(1.0, 0.5))
        parts.append(_svg(fig))
        parts.append(
            '<p class="note">BG/NBD lets buyers drop out only right after a repeat purchase, so every buyer with a '
            "single purchase day has P(alive) 1; their expected purchases still fall the longer they stay away.</p>"
        )
        rows = [
            [
                s,
                f"{int(found[s][0]):,}",
                f"{float(found[s][1]):.2f}",
                f"{float(found[s][2] or 0):,.1f}",
                "-" if found[s][3] is None else f"{float(found[s][3]):,.2f}",
            ]
            for s in stages
        ]
        parts.append(
            _table(
                [
                    "stage",
                    "buyers",
                    "mean P(alive)",
                    "purchase days expected in the horizon",
                    "mean predicted CLV 365 d",
                ],
                rows,
            )
        )
    parts.append(_backtest(con))
    return "".join(parts)


def _backtest(con: duckdb.DuckDBPyConnection) -> str:
    if not table_exists(con, "marts", "prediction_backtest"):
        return _missing("marts.prediction_backtest")
    columns = (
        "segment, decile, buyers, predicted_purchase_days, actual_purchase_days, mean_absolute_error, bias, "
        "buyers_who_bought, share_who_bought, mean_p_alive, cutoff_date, horizon_days"
    )
    found = con.execute(f"select {columns} from marts.prediction_backtest order by segment, decile").fetchall()
    deciles = [r for r in found if r[0] == "decile"]
    overall = next((r for r in found if r[0] == "all"), None)
    lapsed = next((r for r in found if r[0] == "lapsed_by_rule"), None)
    if overall is None or overall[3] is None:
        return '<h3>Backtest</h3><p class="note">No backtest: its fit was not made (see above).</p>'
    cutoff, horizon = overall[10], overall[11]
    parts = [
        f"<h3>Backtest: predicted as of {_esc(cutoff)}, compared with the {horizon} days since</h3>",
        f"<p>For the {overall[2]:,} buyers known on {_esc(cutoff)} the model expected "
        f"<b>{overall[3]:,.0f}</b> purchase days in the next {horizon} days; <b>{overall[4]:,}</b> happened "
        f"(bias {overall[6]:+.3f} per buyer, mean absolute error {overall[5]:.3f}).</p>",
    ]
    if lapsed is not None and lapsed[2]:
        parts.append(
            f"<p>The stage rule called <b>{lapsed[2]:,}</b> of them lapsed on {_esc(cutoff)}; "
            f"<b>{lapsed[7]:,}</b> ({lapsed[8]:.0%}) bought again within {horizon} days. Their mean P(alive) was "
            f"{lapsed[9]:.2f}, and the model expected {lapsed[3]:,.1f} purchase days from them ({lapsed[4]:,} "
            "happened).</p>"
        )
    if deciles:
        fig, ax = plt.subplots(figsize=(9, 3.6))
        x = np.arange(len(deciles))
        predicted = [r[3] / r[2] for r in deciles]
        actual = [r[4] / r[2] for r in deciles]
        ax.bar(x - 0.2, predicted, width=0.4, color="#4c9be8", label="predicted")
        ax.bar(x + 0.2, actual, width=0.4, color="#2e8b57", label="actual")
        ax.set_xticks(x, [str(r[1]) for r in deciles])
        ax.set_xlabel("decile of predicted purchase days (10 = expected to buy most)")
        ax.set_ylabel("purchase days per buyer")
        ax.set_title(f"Backtest: purchase days per buyer in the {horizon} days after {cutoff}")
        ax.legend(frameon=False)
        parts.append(_svg(fig))
        rows = [
            [str(r[1]), f"{r[2]:,}", f"{r[3]:,.1f}", f"{r[4]:,}", f"{r[5]:.3f}", f"{r[6]:+.3f}", f"{r[8]:.0%}"]
            for r in deciles
        ]
        rows.append(
            [
                "all",
                f"{overall[2]:,}",
                f"{overall[3]:,.1f}",
                f"{overall[4]:,}",
                f"{overall[5]:.3f}",
                f"{overall[6]:+.3f}",
            ]
            + [f"{overall[8]:.0%}"]
        )
        parts.append(
            _table(
                ["decile", "buyers", "predicted", "actual", "mean abs. error", "bias", "bought again"],
                rows,
            )
        )
    return "".join(parts)


def section_quarantine(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    rows = []
    for source, figures in summary["sources"].items():
        reasons = ", ".join(f"{r['reason']} ({r['rows']:,})" for r in figures["top_reasons"]) or "-"
        read = figures["rows_read"]
        rows.append(
            [
                source,
                "?" if read is None else f"{read:,}",
                f"{figures['quarantined']:,}",
                f"{figures['quarantine_share']:.2%}",
                reasons,
            ]
        )
    table = _table(["source", "rows read", "quarantined", "share", "top reasons"], rows, numeric={1, 2, 3})
    if not table_exists(con, "quarantine", "quarantine_summary"):
        return table
    by_reason = con.execute(
        "select source_name || ': ' || quarantine_reason, quarantined_rows from quarantine.quarantine_summary "
        "order by quarantined_rows desc, 1 limit 15"
    ).fetchall()
    if not by_reason:
        return "<p>No rows were quarantined.</p>" + table
    fig, ax = plt.subplots(figsize=(9, 0.3 * len(by_reason) + 1.0))
    bars = ax.barh([r for r, _ in by_reason], [n for _, n in by_reason], color="#b55d5d", height=0.6)
    _label_bars(ax, bars, [f"{n:,}" for _, n in by_reason])
    ax.invert_yaxis()
    ax.set_title("Quarantined rows by source and reason (top 15)")
    ax.set_xlabel("rows")
    ax.set_xlim(0, max(n for _, n in by_reason) * 1.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return table + _svg(fig)


TRANSITION_STAGES = ["not_known", *STAGES]


def section_transitions(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    """Who moved where between the last two as-of dates of the stage history (a from × to matrix)."""
    if not table_exists(con, "marts", "stage_transitions"):
        return _missing("marts.stage_transitions")
    latest = con.execute("select max(to_as_of_date) from marts.stage_transitions").fetchone()[0]
    if latest is None:
        return (
            '<p class="note">Only one as-of date is recorded in marts.customer_stage_history so far: transitions '
            "appear after the next run, or backfill earlier dates with --as-of-range START END --step 7d.</p>"
        )
    rows = con.execute(
        "select from_as_of_date, from_stage, to_stage, persons from marts.stage_transitions where to_as_of_date = ?",
        [latest],
    ).fetchall()
    earlier = rows[0][0]
    counts = {(from_stage, to_stage): int(persons) for _, from_stage, to_stage, persons in rows}
    from_stages = [s for s in TRANSITION_STAGES if any(f == s for f, _ in counts)]
    to_stages = [s for s in STAGES if any(t == s for _, t in counts)]
    matrix = np.array([[counts.get((f, t), 0) for t in to_stages] for f in from_stages])
    fig, ax = plt.subplots(figsize=(1.6 + 1.3 * len(to_stages), 0.9 + 0.55 * len(from_stages)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(to_stages)), [s.replace("_", " ") for s in to_stages])
    ax.set_yticks(range(len(from_stages)), [s.replace("_", " ") for s in from_stages])
    ax.set_xlabel(f"stage on {latest}")
    ax.set_ylabel(f"stage on {earlier}")
    ax.set_title("Persons moving between stages")
    top = matrix.max() or 1
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            colour = "white" if value > top * 0.6 else "#1f2933"
            ax.text(j, i, f"{value:,}", ha="center", va="center", color=colour, fontsize=9)
    ax.spines[:].set_visible(False)
    moved = sum(v for (f, t), v in counts.items() if f != t and f != "not_known")
    new = sum(v for (f, _), v in counts.items() if f == "not_known")
    stayed = sum(v for (f, t), v in counts.items() if f == t)
    table = _table(
        ["from → to", "persons"],
        [[f"{f} → {t}", f"{v:,}"] for (f, t), v in sorted(counts.items(), key=lambda item: -item[1]) if f != t],
    )
    return (
        f"<p>From {_esc(earlier)} to {_esc(latest)}: {stayed:,} persons stayed in their stage, {moved:,} moved, "
        f"{new:,} became known. Rows: stage on the earlier date; columns: stage on the later one.</p>"
        + _svg(fig)
        + table
    )


def section_run(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    rows = [
        ["as-of date", summary.get("as_of_date") or "unknown"],
        ["run started (UTC)", summary.get("started_at", "")],
        ["status", summary.get("status", "")],
        ["raw folder", summary.get("raw_dir", "")],
    ]
    rows += [[f"time: {phase}", f"{seconds:.1f} s"] for phase, seconds in summary.get("phases", {}).items()]
    rows += [[f"output: {name}", where] for name, where in summary.get("outputs", {}).items()]
    checks = [[c["check"], "ok" if c["ok"] else "FAILED", c["detail"]] for c in summary.get("checks", [])]
    return (
        _table(["", ""], rows, numeric=set())
        + "<h3>Output checks</h3>"
        + _table(["check", "result", "numbers"], checks, numeric=set())
    )


SECTIONS: list[tuple[str, Callable[[duckdb.DuckDBPyConnection, dict], str]]] = [
    ("Lifecycle stages", section_stages),
    ("RFM: recency × frequency", section_rfm),
    ("How overdue are buyers?", section_overdue),
    ("Engagement, VIPs and audiences", section_vip_engagement),
    ("Prediction: who is still a customer, and how accurate that is", section_prediction),
    ("Stage transitions since the previous as-of date", section_transitions),
    ("Quarantined input", section_quarantine),
    ("Run", section_run),
]

STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 2rem auto; max-width: 1100px;
       color: #1f2933; padding: 0 1rem; }
h1 { margin-bottom: 0.2rem; } .sub { color: #52606d; margin-top: 0; }
section { margin: 2rem 0; border-top: 1px solid #e4e7eb; padding-top: 0.5rem; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.9rem; }
th, td { padding: 0.25rem 0.7rem; border-bottom: 1px solid #e4e7eb; text-align: left; vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
svg { max-width: 100%; height: auto; } .note { color: #7b8794; font-style: italic; }
.kpis { display: flex; gap: 1rem; flex-wrap: wrap; }
.kpi { background: #f5f7fa; padding: 0.6rem 1rem; border-radius: 6px; }
.kpi b { display: block; font-size: 1.4rem; }
"""


def _kpis(summary: dict) -> str:
    stages = summary.get("stages") or {}
    items = [
        ("persons", summary.get("persons")),
        ("active (new + repeat)", (stages.get("new", 0) + stages.get("repeat", 0)) if stages else None),
        ("at risk", stages.get("at_risk")),
        ("VIPs", summary.get("vips")),
        ("cart reminders due", summary.get("reminders_due")),
    ]
    cells = "".join(
        f'<div class="kpi"><b>{"-" if v is None else f"{v:,}"}</b>{_esc(label)}</div>' for label, v in items
    )
    return f'<div class="kpis">{cells}</div>'


def render(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    """The whole report as one HTML string."""
    parts = []
    for title, section in SECTIONS:
        parts.append(f"<section><h2>{_esc(title)}</h2>{section(con, summary)}</section>")
    generated = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>Customer lifecycle report — as of {_esc(summary.get('as_of_date'))}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>Customer lifecycle — as of {_esc(summary.get('as_of_date'))}</h1>"
        f'<p class="sub">Generated {generated} by scripts/run_pipeline.py. All figures count persons '
        "(one normalised email) as of the date above.</p>"
        f"{_kpis(summary)}{''.join(parts)}</body></html>\n"
    )
