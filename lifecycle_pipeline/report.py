"""One self-contained HTML report of a run: charts as inline SVG drawn by matplotlib, no network needed.

The report is a list of sections (`SECTIONS`); each is a function `(con, summary) -> html` so that new
sections (for example lifecycle transitions over a date range) can be added without touching the others.
A section whose mart is missing renders a short note instead of failing the run.
"""

from __future__ import annotations

import datetime as dt
import html
import io
import math
from collections.abc import Callable, Sequence
from decimal import Decimal
from fractions import Fraction

import duckdb
import matplotlib

matplotlib.use("Agg")  # no display needed; must come before pyplot
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import yaml  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
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


# --- shares that add up ---------------------------------------------------------------------------------


def largest_remainder(values: Sequence, total: int = 100, digits: int = 1) -> list[float]:
    """Shares of `values` in `total` (percent by default), rounded to `digits` decimals so that they add up to
    exactly `total`: every share is first rounded down, then the units still missing go, one each, to the shares
    that lost most in rounding down (equal losses: the earlier value first). Exact arithmetic (fractions), so
    the result does not depend on floating-point error. All values 0: all shares 0."""
    exact = [Fraction(value) if not isinstance(value, float) else Fraction(str(value)) for value in values]
    if any(value < 0 for value in exact):
        raise ValueError("largest_remainder takes no negative values")
    whole = sum(exact)
    if whole == 0:
        return [0.0] * len(exact)
    units = total * 10**digits
    quotas = [value * units / whole for value in exact]
    rounded = [math.floor(quota) for quota in quotas]
    missing = units - sum(rounded)
    by_loss = sorted(range(len(quotas)), key=lambda i: (-(quotas[i] - rounded[i]), i))
    for i in by_loss[:missing]:
        rounded[i] += 1
    return [round(units_ / 10**digits, digits) for units_ in rounded]


def _pct(share: float) -> str:
    """A share from largest_remainder (one decimal), as the table and the chart both print it."""
    return f"{share:.1f} %"


def section_stages(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    if not table_exists(con, "marts", "lifecycle_summary"):
        return _missing("marts.lifecycle_summary")
    found = {
        row[0]: row[1:]
        for row in con.execute(
            "select lifecycle_stage, persons, net_revenue, avg_order_value from marts.lifecycle_summary"
        ).fetchall()
    }
    persons = [int(found.get(s, (0,))[0] or 0) for s in STAGES]
    revenue = [Decimal(found.get(s, (0, 0))[1] or 0) for s in STAGES]
    person_shares, revenue_shares = largest_remainder(persons), largest_remainder(revenue)
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 3.4))
    colours = [STAGE_COLOURS[s] for s in STAGES]
    labels = [s.replace("_", " ") for s in STAGES]
    bars = left.barh(labels, persons, color=colours)
    _label_bars(left, bars, [f"{p:,} ({_pct(share)})" for p, share in zip(persons, person_shares, strict=True)])
    left.set_title("Persons per lifecycle stage")
    left.set_xlabel("persons")
    left.set_ylabel("lifecycle stage")
    left.invert_yaxis()
    left.set_xlim(0, max(persons + [1]) * 1.35)
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    bars = right.barh(labels, revenue_shares, color=colours)
    _label_bars(right, bars, [f"{_pct(s)} ({r:,.0f})" for s, r in zip(revenue_shares, revenue, strict=True)])
    right.set_title("Share of net revenue per stage")
    right.set_xlabel("% of net revenue up to the as-of date")
    right.set_ylabel("lifecycle stage")
    right.invert_yaxis()
    right.set_xlim(0, max(revenue_shares + [1]) * 1.4)
    rows = []
    for i, stage in enumerate(STAGES):
        _, rev, aov = found.get(stage, (0, 0, None))
        rows.append(
            [
                stage,
                f"{persons[i]:,}",
                _pct(person_shares[i]),
                f"{float(rev or 0):,.2f}",
                _pct(revenue_shares[i]),
                "-" if aov is None else f"{float(aov):,.2f}",
            ]
        )
    rows.append(
        [
            "total",
            f"{sum(persons):,}",
            _pct(sum(person_shares)),
            f"{sum(revenue):,.2f}",
            _pct(sum(revenue_shares)),
            "",
        ]
    )
    table = _table(["stage", "persons", "share of persons", "net revenue", "share of revenue", "avg order value"], rows)
    return (
        _svg(fig)
        + table
        + '<p class="note">Shares are rounded so that they add up to 100 % (largest remainder: each share is '
        "rounded down, and the missing tenths go to the shares that lost most).</p>"
    )


# The segments of docs/lifecycle-definitions.md in the order of the grid (best first), with their R and F scores
# and what to do.
RFM_SEGMENTS = {
    "champions": ("5", "4–5", "reward them, ask for reviews, early access"),
    "loyal": ("3–4", "4–5", "upsell, loyalty programme"),
    "potential_loyalist": ("4–5", "2–3", "membership, recommendations"),
    "new_customers": ("5", "1", "onboarding, post-purchase care"),
    "promising": ("4", "1", "a second-purchase offer"),
    "need_attention": ("3", "3", "limited-time offer based on what they bought"),
    "about_to_sleep": ("3", "1–2", "reconnect with popular products"),
    "at_risk": ("1–2", "3–4", "personal reactivation emails"),
    "cannot_lose_them": ("1–2", "5", "win them back at any cost; call them"),
    "hibernating": ("1–2", "1–2", "cheap reactivation, or let go"),
    "lost": ("1", "1", "archive unless they come back"),
}
RFM_COLOURS = {
    "champions": "#1b7f4d",
    "loyal": "#2e8b57",
    "potential_loyalist": "#6fbf73",
    "new_customers": "#4c9be8",
    "promising": "#86b9ef",
    "need_attention": "#f2c14e",
    "about_to_sleep": "#f0a030",
    "at_risk": "#e07a3f",
    "cannot_lose_them": "#d64545",
    "hibernating": "#a7b1bc",
    "lost": "#7b8794",
}


def _segment_label(segment: str) -> str:
    """A segment's name as people read it ("at_risk" → "at risk": not to be confused with the stage)."""
    return segment.replace("_", " ")


def empty_f_scores_note(buyers_per_f: dict[int, int]) -> str:
    """Why some F scores have no buyers: equal purchase-day counts share one score, so the one-time buyers (often
    far more than a fifth) all get F 1 and the next count starts higher. Empty string when no score is empty."""
    total = sum(buyers_per_f.values())
    empty = [f for f in range(1, 6) if not buyers_per_f.get(f)]
    if not total or not empty:
        return ""
    one_time = buyers_per_f.get(1, 0)
    scores = ", ".join(str(f) for f in empty)
    return (
        f"No buyer has F score {scores}: buyers with the same number of purchase days share one score, and the "
        f"{one_time:,} buyers with F 1 ({one_time / total:.0%} of all buyers, more than a fifth) fill the lowest "
        "scores at once, so the next count of purchase days starts higher. That is how the scores are defined, "
        "not missing data."
    )


def section_rfm(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    if not table_exists(con, "marts", "rfm_summary"):
        return _missing("marts.rfm_summary")
    found = {
        row[0]: row[1:]
        for row in con.execute(
            "select rfm_segment, buyers, net_revenue, avg_m_score from marts.rfm_summary "
            "where summary_level = 'segment'"
        ).fetchall()
    }
    segments = [s for s in RFM_SEGMENTS if s in found] + sorted(s for s in found if s not in RFM_SEGMENTS)
    if not segments or not sum(int(found[s][0]) for s in segments):
        return '<p class="note">No buyers yet: no RFM segments.</p>'
    buyers = [int(found[s][0]) for s in segments]
    revenue = [Decimal(found[s][1] or 0) for s in segments]
    buyer_shares, revenue_shares = largest_remainder(buyers), largest_remainder(revenue)
    labels = [_segment_label(s) for s in segments]
    colours = [RFM_COLOURS.get(s, "#888") for s in segments]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 0.34 * len(segments) + 1.4), sharey=True)
    bars = left.barh(labels, buyers, color=colours)
    _label_bars(left, bars, [f"{b:,} ({_pct(s)})" for b, s in zip(buyers, buyer_shares, strict=True)])
    left.set_title("Buyers per RFM segment")
    left.set_xlabel("buyers")
    left.set_ylabel("RFM segment")
    left.set_xlim(0, max(buyers) * 1.45)
    left.xaxis.set_major_locator(MaxNLocator(integer=True))
    left.invert_yaxis()
    bars = right.barh(labels, revenue_shares, color=colours)
    _label_bars(right, bars, [f"{_pct(s)} ({r:,.0f})" for s, r in zip(revenue_shares, revenue, strict=True)])
    right.set_title("Share of net revenue per RFM segment")
    right.set_xlabel("% of net revenue up to the as-of date")
    right.set_xlim(0, max(revenue_shares + [1]) * 1.45)
    rows = []
    for i, segment in enumerate(segments):
        r, f, action = RFM_SEGMENTS.get(segment, ("", "", ""))
        m = found[segment][2]
        rows.append(
            [
                labels[i],
                r,
                f,
                f"{buyers[i]:,}",
                _pct(buyer_shares[i]),
                f"{float(revenue[i]):,.2f}",
                _pct(revenue_shares[i]),
                "-" if m is None else f"{float(m):.1f}",
                action,
            ]
        )
    rows.append(["total", "", "", f"{sum(buyers):,}", _pct(sum(buyer_shares)), f"{float(sum(revenue)):,.2f}",
                 _pct(sum(revenue_shares)), "", ""])  # fmt: skip
    table = _table(
        ["segment", "R", "F", "buyers", "share of buyers", "net revenue", "share of revenue", "mean M", "what to do"],
        rows,
        numeric={3, 4, 5, 6, 7},
    )
    per_f = dict(
        con.execute(
            "select f_score, sum(buyers) from marts.rfm_summary where summary_level = 'cell' group by f_score"
        ).fetchall()
    )
    note = empty_f_scores_note({int(f): int(n or 0) for f, n in per_f.items() if f is not None})
    intro = (
        "<p>Each buyer gets R (recency), F (purchase days) and M (spend) scores from 1 to 5 against all other "
        "buyers; the segment comes from R and F, M is shown beside it. The RFM segment “at risk” compares a buyer "
        "with other buyers, the lifecycle stage at_risk with their own rhythm.</p>"
    )
    return intro + _svg(fig) + table + (f'<p class="note">{_esc(note)}</p>' if note else "")


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
    tail.set_xlabel("overdue ratio")
    tail.set_ylabel("persons")
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
    former_vips = [0] * len(STAGES)
    for stage, level, persons, vip, was_vip in rows:
        if stage not in STAGES:
            continue
        i = STAGES.index(stage)
        engagement.setdefault(level or "unknown", [0] * len(STAGES))[i] += persons
        vips[i] += int(vip or 0)
        former_vips[i] += int(was_vip or 0)
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
    left.set_xlabel("lifecycle stage")
    left.set_ylabel("persons")
    left.yaxis.set_major_locator(MaxNLocator(integer=True))
    left.set_ylim(0, tallest * 1.25)
    left.legend(frameon=False, title="engagement", ncol=3, loc="upper center")
    bars = right.bar(labels, vips, color=[STAGE_COLOURS[s] for s in STAGES])
    right.bar_label(bars, labels=[f"{v:,}" if v else "" for v in vips], fontsize=9)
    former_bars = right.bar(
        labels, former_vips, bottom=vips, color="white", edgecolor=STAGE_COLOURS["lapsed"], hatch="///",
    )  # fmt: skip
    right.bar_label(former_bars, labels=[f"{v:,}" if v else "" for v in former_vips], fontsize=9)
    right.set_title(f"VIPs by stage (total {sum(vips):,}; {sum(former_vips):,} lapsed former VIPs)")
    right.set_xlabel("lifecycle stage")
    right.set_ylabel("persons")
    right.set_ylim(0, max([v + f for v, f in zip(vips, former_vips, strict=True)] + [1]) * 1.3)
    right.yaxis.set_major_locator(MaxNLocator(integer=True))
    right.legend(
        handles=[
            Patch(facecolor="#7b8794", label="VIP (is_vip), in the stage's colour"),
            Patch(
                facecolor="white", edgecolor=STAGE_COLOURS["lapsed"], hatch="///", label="lapsed former VIP (was_vip)"
            ),
        ],
        frameon=False,
        loc="upper left",
        fontsize=8,
    )
    former = sum(former_vips)
    vip_note = (
        f"<p>The hatched bar on lapsed is not VIPs: a lapsed buyer is never a VIP. <code>was_vip</code> marks the "
        f"<b>{former:,}</b> lapsed buyers who would rank among the VIPs if they were still buying — the win-back "
        "list."
        if former
        else "<p>No lapsed buyer would rank among the VIPs (<code>was_vip</code>: the win-back list of former VIPs)."
    ) + " Archived persons (cold and not active) are in no mailing audience.</p>"
    return _svg(fig) + vip_note


# One line per audience: who is in it (docs/lifecycle-definitions.md, "Audiences"); {name} = a dbt var.
AUDIENCE_RULES = {
    "first_purchase": "subscribed prospects who are not archived",
    "post_purchase": "buyers whose latest purchase was at most {post_purchase_days} days ago, not archived",
    "replenishment": "active buyers whose next purchase is expected within {replenishment_lead_days} days",
    "reactivation": "at-risk or lapsed buyers, subscribed, not archived, not dissatisfied",
    "service_callback": "dissatisfied buyers (half or more of their orders returned): call, do not promote",
    "vip_reward": "VIPs who are active (new or repeat)",
    "abandoned_cart": "persons with a cart reminder due (cart left 24–48 h before the end of the as-of day)",
}
AUDIENCE_DEFAULTS = {"post_purchase_days": 14, "replenishment_lead_days": 7}


def audience_rule(audience: str, variables: dict) -> str:
    rule = AUDIENCE_RULES.get(audience, "")
    return rule.format(**{name: variables.get(name, default) for name, default in AUDIENCE_DEFAULTS.items()})


def section_audiences(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    """Each audience with its rule, persons and revenue at stake: the persons' net revenue of the last 365 days
    and, where the prediction ran, what they are predicted to spend in the next 365. Counts and sums only: the
    report shows no email."""
    needed = ("campaign_audiences", "customer_lifecycle", "fct_orders")
    if not all(table_exists(con, "marts", t) for t in needed):
        return _missing(*(f"marts.{t}" for t in needed))
    found = con.execute(
        """
        with recent as (
            select customer_key, sum(purchase_amount) as revenue
            from marts.fct_orders, (select max(as_of_date) as as_of_date from marts.customer_lifecycle) as a
            where order_date > a.as_of_date - interval 365 day
            group by customer_key
        )
        select audiences.audience, count(distinct audiences.customer_key), coalesce(sum(recent.revenue), 0),
            sum(lifecycle.predicted_clv_365d)
        from (select distinct audience, customer_key from marts.campaign_audiences) as audiences
        left join recent on audiences.customer_key = recent.customer_key
        left join marts.customer_lifecycle as lifecycle on audiences.customer_key = lifecycle.customer_key
        group by audiences.audience
        """
    ).fetchall()
    by_audience = {row[0]: row[1:] for row in found}
    audiences = [a for a in AUDIENCE_RULES if a in by_audience] + sorted(
        a for a in by_audience if a not in AUDIENCE_RULES
    )
    cart_value = None
    if table_exists(con, "marts", "abandoned_cart_reminders"):
        cart_value = con.execute("select sum(cart_value) from marts.abandoned_cart_reminders").fetchone()[0]
    predicted = any(by_audience[a][2] is not None for a in audiences)
    variables = _project_vars()
    rows = [
        [
            a,
            audience_rule(a, variables),
            f"{int(by_audience[a][0]):,}",
            f"{float(by_audience[a][1]):,.2f}",
            "-" if by_audience[a][2] is None else f"{float(by_audience[a][2]):,.2f}",
        ]
        for a in audiences
    ]
    headers = ["audience", "who (the rule)", "persons", "net revenue, last 365 days", "predicted value, next 365 days"]
    parts = [
        "<p>Revenue at stake: what the audience's persons spent in the 365 days up to the as-of date, and what "
        "they are predicted to spend in the next 365 (<code>predicted_clv_365d</code>; “-” where the prediction "
        "did not run). A person can be in several audiences.</p>"
    ]
    if not audiences:
        parts.append("<p>No audience has anybody in it.</p>")
    else:
        fig, ax = plt.subplots(figsize=(10, 0.45 * len(audiences) + 1.3))
        y = np.arange(len(audiences))
        height = 0.38 if predicted else 0.6
        recent = [float(by_audience[a][1]) for a in audiences]
        bars = ax.barh(y - (height / 2 if predicted else 0), recent, height=height, color="#4c9be8",
                       label="net revenue, last 365 days")  # fmt: skip
        _label_bars(ax, bars, [f"{v:,.0f}" for v in recent])
        top = max(recent + [1.0])
        if predicted:
            ahead = [float(by_audience[a][2] or 0) for a in audiences]
            bars = ax.barh(y + height / 2, ahead, height=height, color="#2e8b57", label="predicted, next 365 days")
            _label_bars(ax, bars, [f"{v:,.0f}" for v in ahead])
            top = max([top] + ahead)
        ax.set_yticks(y, [f"{a.replace('_', ' ')} ({int(by_audience[a][0]):,})" for a in audiences])
        ax.invert_yaxis()
        ax.set_xlim(0, top * 1.25)
        ax.set_title("Revenue at stake per audience")
        ax.set_xlabel("net revenue")
        ax.set_ylabel("audience (persons)")
        ax.legend(frameon=False, loc="lower right", fontsize=8)
        parts.append(_svg(fig))
    parts.append(_table(headers, rows, numeric={2, 3, 4}))
    reminders = summary.get("reminders_due")
    if reminders is not None:
        value = f", holding {float(cart_value):,.2f} in cart value" if cart_value is not None else ""
        parts.append(f"<p>Abandoned-cart reminders due: <b>{reminders:,}</b>{value}.</p>")
    return "".join(parts)


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
        ax.set_ylabel("stage (buyers)")
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
    ax.set_ylabel("source: reason")
    ax.set_xlabel("rows")
    ax.set_xlim(0, max(n for _, n in by_reason) * 1.2)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    return table + _svg(fig)


TRANSITION_STAGES = ["not_known", *STAGES]
BUYER_STAGES = ("new", "repeat", "at_risk", "lapsed")
ACTIVE_STAGES = ("new", "repeat")
# The report's "chosen period" for transitions: from the latest recorded as-of date at least this many days
# before the latest one (else the first recorded date) to the latest.
TRANSITION_PERIOD_DAYS = 30


def _n(count: int, word: str, plural: str | None = None) -> str:
    return f"{count:,} {word if count == 1 else (plural or word + 's')}"


def what_changed(
    previous: dt.date,
    latest: dt.date,
    moves: dict[tuple[str, str], int],
    before: dict[str, int],
    after: dict[str, int],
    purchases: int | None = None,
    revenue: Decimal | float | None = None,
) -> list[str]:
    """The "what changed since the last run" lines, from the stage moves between the two latest recorded as-of
    dates ((from stage, to stage) -> persons, 'not_known' = first known on the later date), the persons per
    stage on each, and the purchases and net revenue in between (when known)."""
    changed = sum(n for (f, t), n in moves.items() if f != t and f != "not_known")
    known = sum(n for (f, _), n in moves.items() if f == "not_known")
    first_buyers = sum(n for (f, t), n in moves.items() if f in ("not_known", "prospect") and t in BUYER_STAGES)
    won_back = sum(n for (f, t), n in moves.items() if f in ("at_risk", "lapsed") and t in ACTIVE_STAGES)
    slipped = sum(
        n
        for (f, t), n in moves.items()
        if (f in ACTIVE_STAGES and t in ("at_risk", "lapsed")) or (f == "at_risk" and t == "lapsed")
    )
    days = (latest - previous).days
    lines = [
        f"Since the last run ({previous} → {latest}, {_n(days, 'day')}): {_n(changed, 'person')} changed stage, "
        f"{_n(known, 'person')} became known, {_n(first_buyers, 'person')} made a first purchase."
    ]
    if purchases is not None:
        lines.append(f"{_n(purchases, 'purchase')} brought {float(revenue or 0):,.2f} in net revenue.")
    lines.append(
        f"{_n(won_back, 'buyer')} won back (at risk or lapsed → new or repeat); {_n(slipped, 'buyer')} slipped "
        "(active → at risk or lapsed, or at risk → lapsed)."
    )
    top = sorted(
        ((n, f, t) for (f, t), n in moves.items() if f != t and f != "not_known" and n > 0),
        key=lambda move: (-move[0], move[1], move[2]),
    )[:3]
    if top:
        lines.append("Largest moves: " + ", ".join(f"{f} → {t} {n:,}" for n, f, t in top) + ".")
    deltas = [
        f"{stage} {before.get(stage, 0):,} → {after.get(stage, 0):,} ({after.get(stage, 0) - before.get(stage, 0):+,})"
        for stage in STAGES
        if after.get(stage, 0) != before.get(stage, 0)
    ]
    lines.append("Persons per stage: " + ("; ".join(deltas) if deltas else "no change") + ".")
    return lines


def _recorded_dates(con: duckdb.DuckDBPyConnection) -> list[dt.date]:
    if not table_exists(con, "marts", "stage_history_dates"):
        return []
    return [row[0] for row in con.execute("select as_of_date from marts.stage_history_dates order by 1").fetchall()]


def _stage_counts(con: duckdb.DuckDBPyConnection) -> dict[dt.date, dict[str, int]]:
    counts: dict[dt.date, dict[str, int]] = {}
    if table_exists(con, "marts", "stage_history_counts"):
        for as_of, stage, persons in con.execute(
            "select as_of_date, lifecycle_stage, persons from marts.stage_history_counts"
        ).fetchall():
            counts.setdefault(as_of, {})[stage] = int(persons)
    return counts


def changes_block(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    """The block at the top: what changed between the two latest as-of dates of the stage history."""
    dates = _recorded_dates(con)
    if len(dates) < 2 or not table_exists(con, "marts", "stage_transitions"):
        first = f" (the history starts on {dates[0]})" if dates else ""
        return (
            '<div class="changes"><h2>What changed since the last run</h2><p>Nothing to compare yet: this is the '
            f"first as-of date recorded{first}. The next run, or a backfill with --as-of-range, adds the "
            "comparison.</p></div>"
        )
    previous, latest = dates[-2], dates[-1]
    moves = {
        (f, t): int(n)
        for f, t, n in con.execute(
            "select from_stage, to_stage, persons from marts.stage_transitions where to_as_of_date = ?", [latest]
        ).fetchall()
    }
    counts = _stage_counts(con)
    purchases = revenue = None
    as_of = summary.get("as_of_date")
    if str(as_of) == latest.isoformat() and table_exists(con, "marts", "fct_orders"):
        purchases, revenue = con.execute(
            "select count(*), coalesce(sum(purchase_amount), 0) from marts.fct_orders "
            "where is_purchase and order_date > ? and order_date <= ?",
            [previous, latest],
        ).fetchone()
    lines = what_changed(previous, latest, moves, counts.get(previous, {}), counts.get(latest, {}), purchases, revenue)
    if as_of is not None and str(as_of) != latest.isoformat():
        lines.append(f"This run is as of {as_of}, not the latest recorded date: the lines above are the history's.")
    items = "".join(f"<li>{_esc(line)}</li>" for line in lines)
    return f'<div class="changes"><h2>What changed since the last run</h2><ul>{items}</ul></div>'


def section_stage_mix(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    """Persons per stage on every recorded as-of date (stage_history_counts) as a stacked area."""
    if not table_exists(con, "marts", "stage_history_counts"):
        return _missing("marts.stage_history_counts")
    counts = _stage_counts(con)
    dates = sorted(counts)
    if len(dates) < 2:
        return (
            '<p class="note">One as-of date recorded so far: the stage mix over time starts with the next run (or '
            "backfill earlier dates with --as-of-range START END --step 7d).</p>"
        )
    series = [[counts[d].get(stage, 0) for d in dates] for stage in STAGES]
    fig, ax = plt.subplots(figsize=(11, 3.8))
    ax.stackplot(dates, series, labels=[s.replace("_", " ") for s in STAGES], colors=[STAGE_COLOURS[s] for s in STAGES])
    ax.set_title(f"Stage mix over time: persons per stage on each of {len(dates)} recorded as-of dates")
    ax.set_xlabel("as-of date")
    ax.set_ylabel("persons")
    ax.set_xlim(dates[0], dates[-1])
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(maxticks=10))
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(ax.xaxis.get_major_locator()))
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5), title="stage")
    first, last = dates[0], dates[-1]
    before = [counts[first].get(s, 0) for s in STAGES]
    after = [counts[last].get(s, 0) for s in STAGES]
    before_shares, after_shares = largest_remainder(before), largest_remainder(after)
    rows = [
        [
            STAGES[i].replace("_", " "),
            f"{before[i]:,}",
            _pct(before_shares[i]),
            f"{after[i]:,}",
            _pct(after_shares[i]),
            f"{after[i] - before[i]:+,}",
        ]
        for i in range(len(STAGES))
    ]
    table = _table(
        ["stage", f"persons on {first}", "share", f"persons on {last}", "share", "change"],
        rows,
        numeric={1, 2, 3, 4, 5},
    )
    return _svg(fig) + table


def _transition_matrix(counts: dict[tuple[str, str], int], earlier, later, title: str) -> str:
    from_stages = [s for s in TRANSITION_STAGES if any(f == s for f, _ in counts)]
    to_stages = [s for s in [*STAGES, "not_known"] if any(t == s for _, t in counts)]
    matrix = np.array([[counts.get((f, t), 0) for t in to_stages] for f in from_stages])
    fig, ax = plt.subplots(figsize=(1.8 + 1.3 * len(to_stages), 1.1 + 0.55 * len(from_stages)))
    ax.imshow(matrix, cmap="Blues")
    ax.set_xticks(range(len(to_stages)), [s.replace("_", " ") for s in to_stages])
    ax.set_yticks(range(len(from_stages)), [s.replace("_", " ") for s in from_stages])
    ax.set_xlabel(f"stage on {later}")
    ax.set_ylabel(f"stage on {earlier}")
    ax.set_title(title)
    top = matrix.max() or 1
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            colour = "white" if value > top * 0.6 else "#1f2933"
            ax.text(j, i, f"{value:,}", ha="center", va="center", color=colour, fontsize=9)
    ax.spines[:].set_visible(False)
    return _svg(fig)


def _moves_sentence(counts: dict[tuple[str, str], int], earlier, later) -> str:
    moved = sum(v for (f, t), v in counts.items() if f != t and f != "not_known")
    new = sum(v for (f, _), v in counts.items() if f == "not_known")
    stayed = sum(v for (f, t), v in counts.items() if f == t)
    return (
        f"<p>From {_esc(earlier)} to {_esc(later)}: {stayed:,} persons stayed in their stage, {moved:,} moved, "
        f"{new:,} became known. Rows: stage on the earlier date; columns: stage on the later one.</p>"
    )


def _moves_table(counts: dict[tuple[str, str], int]) -> str:
    return _table(
        ["from → to", "persons"],
        [[f"{f} → {t}", f"{v:,}"] for (f, t), v in sorted(counts.items(), key=lambda item: -item[1]) if f != t],
    )


def period_start(dates: list[dt.date], days: int = TRANSITION_PERIOD_DAYS) -> dt.date:
    """The start of the transitions period: the latest recorded date at least `days` before the latest one, else
    the first recorded date."""
    earlier = [d for d in dates if d <= dates[-1] - dt.timedelta(days=days)]
    return earlier[-1] if earlier else dates[0]


def _period_moves(con: duckdb.DuckDBPyConnection, start: dt.date, end: dt.date) -> dict[tuple[str, str], int]:
    """(stage on start, stage on end) -> persons, from each person's latest history row at or before each date;
    'not_known' = not known on that date."""
    state = (
        "select customer_key, lifecycle_stage from (select customer_key, lifecycle_stage, row_number() over "
        "(partition by customer_key order by valid_from desc) as recency from marts.customer_stage_history "
        "where valid_from <= ?) where recency = 1 and lifecycle_stage is not null"
    )
    rows = con.execute(
        f"select coalesce(s.lifecycle_stage, 'not_known'), coalesce(e.lifecycle_stage, 'not_known'), count(*) "
        f"from ({state}) as s full outer join ({state}) as e on s.customer_key = e.customer_key group by 1, 2",
        [start, end],
    ).fetchall()
    return {(f, t): int(n) for f, t, n in rows}


def section_transitions(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    """Who moved where between the last two as-of dates of the stage history, and over the chosen period
    (TRANSITION_PERIOD_DAYS) when that spans more than the last step."""
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
    parts = [
        _moves_sentence(counts, earlier, latest),
        _transition_matrix(counts, earlier, latest, f"Persons moving between stages, {earlier} → {latest}"),
        _moves_table(counts),
    ]
    dates = _recorded_dates(con)
    start = period_start(dates) if dates else earlier
    if start < earlier and table_exists(con, "marts", "customer_stage_history"):
        period = _period_moves(con, start, latest)
        parts += [
            f"<h3>Over the period {_esc(start)} → {_esc(latest)} (about {TRANSITION_PERIOD_DAYS} days or the whole "
            "history)</h3>",
            _moves_sentence(period, start, latest),
            _transition_matrix(period, start, latest, f"Persons moving between stages, {start} → {latest}"),
            _moves_table(period),
        ]
    return "".join(parts)


def section_cohorts(con: duckdb.DuckDBPyConnection, summary: dict) -> str:
    """Retention heatmap of marts.customer_cohorts: % of each first-purchase cohort buying in each later month."""
    if not table_exists(con, "marts", "customer_cohorts"):
        return _missing("marts.customer_cohorts")
    found = con.execute(
        "select cohort_month, months_since_first_purchase, cohort_buyers, retention_share, "
        "cumulative_revenue_per_buyer, is_partial_month from marts.customer_cohorts order by 1, 2"
    ).fetchall()
    if not found:
        return '<p class="note">No buyers yet: no cohorts.</p>'
    cohorts = sorted({row[0] for row in found})
    months = max(row[1] for row in found)
    size = {row[0]: int(row[2]) for row in found}
    percent = {(row[0], row[1]): round(float(row[3]) * 100) for row in found}
    so_far = {row[0]: float(row[4]) for row in found}  # rows come in month order: the last one wins
    partial = any(row[5] for row in found)
    parts = [
        "<p>A cohort is the buyers whose first purchase fell in one month. Each cell: the % of the cohort who bought "
        "again in that later month (month 0, the first month, is 100 % by definition and left out). Empty months "
        "are 0 %, not missing; cells after the as-of month are blank."
        + (" The latest month counts only up to the as-of date." if partial else "")
        + "</p>"
    ]
    if months >= 1:
        grid = np.full((len(cohorts), months), np.nan)
        for (cohort, month), value in percent.items():
            if month >= 1:
                grid[cohorts.index(cohort), month - 1] = value
        cmap = matplotlib.colormaps["YlGnBu"].with_extremes(bad="white")
        fig, ax = plt.subplots(figsize=(11, min(0.24 * len(cohorts) + 1.8, 11)))
        image = ax.imshow(
            np.ma.masked_invalid(grid), cmap=cmap, aspect="auto", vmin=0, vmax=max(np.nanmax(grid), 1),
            interpolation="nearest",
        )  # fmt: skip
        step = max(1, math.ceil(months / 24))
        ax.set_xticks(range(0, months, step), [str(m + 1) for m in range(0, months, step)])
        ystep = max(1, math.ceil(len(cohorts) / 30))
        ax.set_yticks(
            range(0, len(cohorts), ystep),
            [f"{cohorts[i]:%Y-%m} ({size[cohorts[i]]:,})" for i in range(0, len(cohorts), ystep)],
        )
        if grid.size <= 160:
            for i in range(len(cohorts)):
                for j in range(months):
                    if not np.isnan(grid[i, j]):
                        ax.text(j, i, f"{grid[i, j]:.0f}", ha="center", va="center", fontsize=8)
        ax.set_xlabel("months since the first purchase")
        ax.set_ylabel("first-purchase month (buyers)")
        ax.set_title("Cohort retention: % of each cohort buying again, by month")
        fig.colorbar(image, ax=ax, label="% of the cohort who bought that month")
        parts.append(_svg(fig))
    recent = cohorts[-12:]
    marks = [m for m in (1, 3, 6, 12) if m <= months]
    rows = [
        [f"{c:%Y-%m}", f"{size[c]:,}"]
        + [f"{percent[(c, m)]} %" if (c, m) in percent else "" for m in marks]
        + [f"{so_far[c]:,.2f}"]
        for c in reversed(recent)
    ]
    headers = ["cohort", "buyers"] + [f"bought in month {m}" for m in marks] + ["net revenue per buyer so far"]
    parts.append(f"<h3>The latest {len(recent)} cohorts</h3>" + _table(headers, rows))
    return "".join(parts)


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
    ("Stage mix over time", section_stage_mix),
    ("Stage transitions since the previous as-of date", section_transitions),
    ("RFM segments: persons and revenue", section_rfm),
    ("Cohorts: who comes back after the first purchase", section_cohorts),
    ("Campaign audiences and the revenue at stake", section_audiences),
    ("Engagement and VIPs", section_vip_engagement),
    ("How overdue are buyers?", section_overdue),
    ("Prediction: who is still a customer, and how accurate that is", section_prediction),
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
td.num { text-align: right; font-variant-numeric: tabular-nums; } td:not(:last-child) { white-space: nowrap; }
svg { max-width: 100%; height: auto; } .note { color: #7b8794; font-style: italic; }
.kpis { display: flex; gap: 1rem; flex-wrap: wrap; }
.kpi { background: #f5f7fa; padding: 0.6rem 1rem; border-radius: 6px; }
.kpi b { display: block; font-size: 1.4rem; }
.changes { background: #fff8e6; border-left: 4px solid #f0a030; padding: 0.3rem 1rem; margin: 1rem 0; }
.changes h2 { font-size: 1.1rem; margin: 0.4rem 0; } .changes ul { margin: 0.3rem 0; padding-left: 1.2rem; }
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
        f"{changes_block(con, summary)}{_kpis(summary)}{''.join(parts)}</body></html>\n"
    )
