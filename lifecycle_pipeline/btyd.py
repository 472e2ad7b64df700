"""BG/NBD and Gamma-Gamma ("buy till you die") models: maximum-likelihood fits and per-buyer scores.

BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way") models when a buyer buys again and
whether they are still "alive"; Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV") models the value of
their repeat purchases. Inputs per buyer, in one time unit (days in this project):

  x    frequency  repeat purchase days (purchase days − 1)
  t_x  recency    time from the first to the last purchase day
  T    tenure     time from the first purchase day to the as-of date
  m    monetary   mean value of the repeat purchase days (x > 0)

The fits take *distinct* rows with a count (`weights`): buyers with the same (x, t_x, T) — or, for Gamma-Gamma,
the same (x, m) — contribute the same log-likelihood term, so a few hundred thousand distinct rows stand for
millions of buyers. Both log-likelihoods and their gradients are written out here (scipy's special functions),
minimised over the log of the parameters with L-BFGS-B. lifetimes is the test-only reference
(tests/python/test_btyd_models.py).

A fit does not raise on data it cannot fit: it returns a `Fit` with `params=None` and a `reason` (too few
buyers, no convergence, a parameter that makes a prediction undefined), so a nightly build can go on with
empty predictions and say why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import optimize, special

BG_NBD = "bg_nbd"
GAMMA_GAMMA = "gamma_gamma"
PARAMETER_NAMES = {BG_NBD: ("r", "alpha", "a", "b"), GAMMA_GAMMA: ("p", "q", "v")}

# The optimiser's coordinates (logs of the parameters, or a logit) stay within ±LOG_BOUND. A maximum on that
# edge is the limit of a simpler model (e.g. the same drop-out probability for everyone: a + b → ∞); its
# parameters there give that limit's predictions.
LOG_BOUND = 18.0
# Largest |gradient| of the mean log-likelihood (per buyer, over log-parameters) accepted as a maximum.
GRADIENT_TOLERANCE = 1e-4
MAX_ITERATIONS = 2000


@dataclass(frozen=True)
class Fit:
    """The outcome of one fit. `params` is None when the model was not fitted; `reason` then says why."""

    model: str
    params: dict[str, float] | None
    buyers: int
    log_likelihood: float | None = None
    converged: bool = False
    iterations: int = 0
    reason: str | None = None
    extras: dict[str, float | None] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.params is not None


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ a·b without BLAS: OpenBLAS's threaded ddot spends ~50 times the arithmetic waking its threads on these
    vectors (and more on a busy machine)."""
    return float(np.einsum("i,i->", a, b))


def _as_arrays(*columns, weights=None) -> tuple[np.ndarray, ...]:
    arrays = [np.asarray(c, dtype=np.float64) for c in columns]
    w = np.ones_like(arrays[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    return (*arrays, w)


def compress(*columns, weights=None) -> tuple[np.ndarray, ...]:
    """Distinct rows of the given columns with their summed weights (counts): what the fits expect."""
    *arrays, w = _as_arrays(*columns, weights=weights)
    stacked = np.column_stack(arrays)
    distinct, inverse = np.unique(stacked, axis=0, return_inverse=True)
    counts = np.bincount(inverse.ravel(), weights=w)
    return (*distinct.T, counts)


# --------------------------------------------------------------------------------------------------------
# BG/NBD
# --------------------------------------------------------------------------------------------------------


class _Distinct:
    """A column as its distinct values and, per row, the index of its value: a function of the column is
    computed once per distinct value (a few hundred frequencies or days) and gathered per row."""

    def __init__(self, values: np.ndarray, weights: np.ndarray):
        self.values, self.index = np.unique(values, return_inverse=True)
        self.index = self.index.ravel()
        self.weights = np.bincount(self.index, weights=weights, minlength=len(self.values))

    def per_row(self, per_value: np.ndarray) -> np.ndarray:
        return per_value[self.index]

    def total(self, per_value: np.ndarray) -> float:
        """Σ over rows of weight × per_value[value of the row]."""
        return float(_dot(self.weights, per_value))


class _Histories:
    """BG/NBD data: weighted (x, t_x, T) rows with their distinct values."""

    def __init__(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray, w: np.ndarray):
        self.x, self.w, self.total_weight = x, w, float(w.sum())
        self.repeat = x > 0
        self.frequency, self.recency, self.tenure = _Distinct(x, w), _Distinct(t_x, w), _Distinct(T, w)


def _bgnbd_value_and_gradient(log_params: np.ndarray, data: _Histories, want_gradient: bool):
    """The weighted total log-likelihood and (optionally) its gradient with respect to the log-parameters.

    Per buyer, ln L = C(x) + r ln α + ln((α+T)^-(r+x) + [x>0] · a/(b+x−1) · (α+t_x)^-(r+x)), where
    C(x) = ln Γ(r+x) − ln Γ(r) + ln B(a, b+x) − ln B(a, b). The special functions depend on x only and the
    logarithms on T or t_x only: each is computed per distinct value; per row is arithmetic, exp and log1p."""
    r, alpha, a, b = np.exp(log_params)
    frequency, recency, tenure = data.frequency, data.recency, data.tenure
    xu = frequency.values
    c_x = special.gammaln(r + xu) - special.gammaln(r) + special.betaln(a, b + xu) - special.betaln(a, b)
    log_b_x1 = np.log(np.where(xu > 0, b + xu - 1, 1.0))
    log_alpha_t = recency.per_row(np.log(alpha + recency.values))
    log_alpha_T = tenure.per_row(np.log(alpha + tenure.values))
    r_x = r + data.x
    term_T = -r_x * log_alpha_T
    term_t = np.where(data.repeat, np.log(a) - frequency.per_row(log_b_x1) - r_x * log_alpha_t, -np.inf)
    mixed = np.logaddexp(term_T, term_t)
    value = frequency.total(c_x) + data.total_weight * r * np.log(alpha) + float(_dot(data.w, mixed))
    if not want_gradient:
        return value, None
    w_share = data.w * np.exp(term_t - mixed)  # weight × share of "dropped out after the last purchase" (0 if x = 0)
    w_rest = data.w - w_share
    psi_ab, psi_abx = special.digamma(a + b), special.digamma(a + b + xu)
    d_r = (
        frequency.total(special.digamma(r + xu) - special.digamma(r))
        + data.total_weight * np.log(alpha)
        - _dot(w_rest, log_alpha_T)
        - _dot(w_share, log_alpha_t)
    )
    inverse_alpha_t = recency.per_row(1 / (alpha + recency.values))
    inverse_alpha_T = tenure.per_row(1 / (alpha + tenure.values))
    d_alpha = data.total_weight * r / alpha - _dot(w_rest * r_x, inverse_alpha_T) - _dot(w_share * r_x, inverse_alpha_t)
    d_a = frequency.total(psi_ab - psi_abx) + w_share.sum() / a
    inverse_b_x1 = frequency.per_row(np.exp(-log_b_x1))
    d_b = frequency.total(special.digamma(b + xu) - special.digamma(b) + psi_ab - psi_abx) - _dot(w_share, inverse_b_x1)
    return value, np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])


def bgnbd_log_likelihood(params, frequency, recency, T, weights=None) -> float:
    """Total BG/NBD log-likelihood of (r, alpha, a, b) — a dict or a sequence — over the (weighted) buyers."""
    values = [params[n] for n in PARAMETER_NAMES[BG_NBD]] if isinstance(params, dict) else list(params)
    data = _Histories(*_as_arrays(frequency, recency, T, weights=weights))
    value, _ = _bgnbd_value_and_gradient(np.log(values), data, want_gradient=False)
    return value


def fit_bgnbd(frequency, recency, T, weights=None, min_buyers: int = 500) -> Fit:
    """Maximum-likelihood BG/NBD over all buyers (frequency 0 included).

    The optimiser works on (log r, log alpha, logit a/(a+b), log (a+b)): the mean drop-out probability and
    its concentration. When every buyer drops out with about the same probability the likelihood keeps rising
    as a + b grows with a/(a+b) fixed; in these coordinates that is one parameter running to its bound, a
    maximum on the edge whose a and b give the predictions of the limit (to ~1/(a+b))."""
    x, t_x, T, w = _as_arrays(frequency, recency, T, weights=weights)
    buyers = int(round(w.sum()))
    if buyers < min_buyers:
        return Fit(BG_NBD, None, buyers, reason=f"{buyers} buyers, fewer than min_buyers_for_prediction {min_buyers}")
    if not np.any(x > 0):
        return Fit(BG_NBD, None, buyers, reason="no buyer has bought on a second day: nothing to fit")
    data = _Histories(x, t_x, T, w)
    total = data.total_weight

    def objective(theta):
        mean_dropout = special.expit(theta[2])
        log_params = np.array(
            [theta[0], theta[1], special.log_expit(theta[2]) + theta[3], special.log_expit(-theta[2]) + theta[3]]
        )
        value, (g_r, g_alpha, g_a, g_b) = _bgnbd_value_and_gradient(log_params, data, want_gradient=True)
        g_theta = np.array([g_r, g_alpha, (1 - mean_dropout) * g_a - mean_dropout * g_b, g_a + g_b])
        return -value / total, -g_theta / total

    def to_params(theta):
        concentration = np.exp(theta[3])
        mean_dropout = special.expit(theta[2])
        return {
            "r": np.exp(theta[0]),
            "alpha": np.exp(theta[1]),
            "a": mean_dropout * concentration,
            "b": (1 - mean_dropout) * concentration,
        }

    # Start: r 1, alpha at the mean tenure (the time scale of the data), a = b = 1.
    start = np.array([0.0, np.log(max(np.average(T, weights=w), 1e-3)), 0.0, np.log(2.0)])
    return _maximise(BG_NBD, objective, start, to_params, buyers, total)


# --------------------------------------------------------------------------------------------------------
# Gamma-Gamma
# --------------------------------------------------------------------------------------------------------


class _Values:
    """Gamma-Gamma data: weighted (x, m) rows, the distinct x, and the sums that do not depend on the
    parameters."""

    def __init__(self, x: np.ndarray, m: np.ndarray, w: np.ndarray):
        self.x, self.m, self.w, self.total_weight = x, m, w, float(w.sum())
        self.frequency = _Distinct(x, w)
        self.wx = w * x
        log_m = np.log(m)
        self.sum_wx_log_xm = float(_dot(self.wx, log_m + np.log(x)))
        self.sum_w_log_m = float(_dot(w, log_m))


def _gamma_gamma_value_and_gradient(log_params: np.ndarray, data: _Values, want_gradient: bool):
    """Weighted total log-likelihood (and gradient over the log-parameters). Per buyer: ln Γ(px+q) − ln Γ(px) −
    ln Γ(q) + q ln v + (px−1) ln m + px ln x − (px+q) ln(v + x m); the gamma functions per distinct x, one log
    per row."""
    p, q, v = np.exp(log_params)
    xu = data.frequency.values
    log_v_xm = np.log(v + data.x * data.m)
    value = (
        data.frequency.total(special.gammaln(p * xu + q) - special.gammaln(p * xu))
        + data.total_weight * (q * np.log(v) - special.gammaln(q))
        + p * data.sum_wx_log_xm
        - data.sum_w_log_m
        - _dot(data.w * (p * data.x + q), log_v_xm)
    )
    if not want_gradient:
        return float(value), None
    psi_pxq = special.digamma(p * xu + q)
    d_p = data.frequency.total(xu * (psi_pxq - special.digamma(p * xu))) + data.sum_wx_log_xm - _dot(data.wx, log_v_xm)
    d_q = data.frequency.total(psi_pxq) - data.total_weight * (special.digamma(q) - np.log(v)) - _dot(data.w, log_v_xm)
    d_v = data.total_weight * q / v - _dot(data.w * (p * data.x + q), 1 / (v + data.x * data.m))
    return float(value), np.array([d_p * p, d_q * q, d_v * v])


def gamma_gamma_log_likelihood(params, frequency, monetary, weights=None) -> float:
    """Total Gamma-Gamma log-likelihood of (p, q, v) over (weighted) repeat buyers (frequency > 0, m > 0)."""
    values = [params[n] for n in PARAMETER_NAMES[GAMMA_GAMMA]] if isinstance(params, dict) else list(params)
    data = _Values(*_as_arrays(frequency, monetary, weights=weights))
    value, _ = _gamma_gamma_value_and_gradient(np.log(values), data, want_gradient=False)
    return value


def fit_gamma_gamma(frequency, monetary, weights=None, min_buyers: int = 500) -> Fit:
    """Maximum-likelihood Gamma-Gamma over the repeat buyers with a positive mean repeat value; the others are
    left out (their rows may be passed in). Also reports the frequency–monetary correlation of those buyers
    (the model assumes it is near 0)."""
    x, m, w = _as_arrays(frequency, monetary, weights=weights)
    keep = (x > 0) & (m > 0) & np.isfinite(m)
    x, m, w = x[keep], m[keep], w[keep]
    buyers = int(round(w.sum()))
    extras = {"frequency_monetary_correlation": weighted_correlation(x, m, w)}
    if buyers < min_buyers:
        reason = f"{buyers} repeat buyers, fewer than min_buyers_for_prediction {min_buyers}"
        return Fit(GAMMA_GAMMA, None, buyers, reason=reason, extras=extras)
    data = _Values(x, m, w)
    total = data.total_weight

    def objective(log_params):
        value, gradient = _gamma_gamma_value_and_gradient(log_params, data, want_gradient=True)
        return -value / total, -gradient / total

    start = np.array([0.0, np.log(2.0), np.log(np.average(m, weights=w))])
    names = PARAMETER_NAMES[GAMMA_GAMMA]
    fit = _maximise(
        GAMMA_GAMMA, objective, start, lambda theta: dict(zip(names, np.exp(theta), strict=True)), buyers, total, extras
    )
    if fit.ok and fit.params["q"] <= 1:
        reason = f"q = {fit.params['q']:.4g} ≤ 1: the mean order value of the population is not finite"
        return Fit(GAMMA_GAMMA, None, buyers, fit.log_likelihood, fit.converged, fit.iterations, reason, extras)
    return fit


def weighted_correlation(x: np.ndarray, y: np.ndarray, w: np.ndarray) -> float | None:
    """Pearson correlation of x and y with row weights; None when undefined (fewer than 2 rows, no spread)."""
    if w.sum() <= 0 or len(x) < 2:
        return None
    mx, my = np.average(x, weights=w), np.average(y, weights=w)
    cov = np.average((x - mx) * (y - my), weights=w)
    var = np.average((x - mx) ** 2, weights=w) * np.average((y - my) ** 2, weights=w)
    return float(cov / np.sqrt(var)) if var > 0 else None


# --------------------------------------------------------------------------------------------------------
# The optimiser
# --------------------------------------------------------------------------------------------------------


def _maximise(model, objective, start, to_params, buyers, total, extras=None) -> Fit:
    """Minimise `objective` (mean negative log-likelihood and its gradient over the unconstrained coordinates
    theta) with L-BFGS-B within ±LOG_BOUND; converged when the projected gradient vanishes (components that
    push against a bound do not count: the maximum lies on that edge)."""
    bounds = np.array([(-LOG_BOUND, LOG_BOUND)] * len(start))
    with np.errstate(all="ignore"):
        result = optimize.minimize(
            objective,
            start,
            jac=True,
            method="L-BFGS-B",
            bounds=bounds,
            options={"maxiter": MAX_ITERATIONS, "ftol": 1e-15, "gtol": 1e-10, "maxcor": 20},
        )
        value, gradient = objective(result.x)
    iterations = int(result.nit)
    log_likelihood = float(-value * total) if np.isfinite(value) else None
    extras = dict(extras or {})
    if not (np.isfinite(value) and np.all(np.isfinite(gradient))):
        reason = "the log-likelihood is not finite at the optimiser's end point"
        return Fit(model, None, buyers, log_likelihood, False, iterations, reason, extras)
    at_lower = (result.x <= bounds[:, 0] + 1e-8) & (gradient > 0)
    at_upper = (result.x >= bounds[:, 1] - 1e-8) & (gradient < 0)
    projected = np.where(at_lower | at_upper, 0.0, gradient)
    largest_gradient = float(np.max(np.abs(projected)))
    if largest_gradient > GRADIENT_TOLERANCE:
        reason = (
            f"did not converge after {iterations} iterations (largest gradient {largest_gradient:.2g}; "
            f"optimiser: {result.message})"
        )
        return Fit(model, None, buyers, log_likelihood, False, iterations, reason, extras)
    params = {name: float(value) for name, value in to_params(result.x).items()}
    return Fit(model, params, buyers, log_likelihood, True, iterations, None, extras)


# --------------------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------------------


def p_alive(params: dict, frequency, recency, T) -> np.ndarray:
    """P(still active | x, t_x, T) under BG/NBD; 1 for buyers without a repeat purchase (BG/NBD lets a buyer
    drop out only right after a repeat purchase)."""
    r, alpha, a, b = (params[n] for n in PARAMETER_NAMES[BG_NBD])
    x, t_x, T, _ = _as_arrays(frequency, recency, T)
    repeat = x > 0
    b_x1 = np.where(repeat, b + x - 1, 1.0)
    log_odds_dead = np.log(a) - np.log(b_x1) + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
    return np.where(repeat, special.expit(-log_odds_dead), 1.0)


def expected_purchases(params: dict, horizon: float, frequency, recency, T) -> np.ndarray:
    """Expected repeat purchase days in the next `horizon` time units, given x, t_x, T (BG/NBD, eq. 10 of
    Fader, Hardie & Lee 2005)."""
    r, alpha, a, b = (params[n] for n in PARAMETER_NAMES[BG_NBD])
    x, t_x, T, _ = _as_arrays(frequency, recency, T)
    t = float(horizon)
    if t <= 0:
        return np.zeros_like(x)
    c = a + b + x - 1
    z = t / (alpha + T + t)
    with np.errstate(all="ignore"):
        # (1 − z)^(r+x) · 2F1(r+x, b+x; c; z), in logs; where 2F1 overflows, the same value by Pfaff's
        # transformation: 2F1(r+x, a−1; c; z/(z−1)), which stays between 0 and 1.
        decay = np.log(special.hyp2f1(r + x, b + x, c, z)) + (r + x) * np.log1p(-z)
        survive = np.exp(decay)
        bad = ~np.isfinite(survive)
        if np.any(bad):
            survive[bad] = special.hyp2f1((r + x)[bad], a - 1, c[bad], (z / (z - 1))[bad])
    repeat = x > 0
    b_x1 = np.where(repeat, b + x - 1, 1.0)
    dead_odds = np.where(repeat, a / b_x1 * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x))), 0.0)
    return (a + b + x - 1) / (a - 1) * (1 - survive) / (1 + dead_odds)


def expected_order_value(params: dict, frequency, monetary) -> np.ndarray:
    """Gamma-Gamma conditional expected value of a purchase day: a weighted mean of the buyer's own mean
    repeat value and the population mean p·v/(q−1); the population mean for buyers with no repeat purchase."""
    p, q, v = (params[n] for n in PARAMETER_NAMES[GAMMA_GAMMA])
    x, m, _ = _as_arrays(frequency, monetary)
    m = np.where(x > 0, m, 0.0)
    return p * (v + x * m) / (p * x + q - 1)


def population_order_value(params: dict) -> float:
    return params["p"] * params["v"] / (params["q"] - 1)


def score(bg_params: dict | None, gg_params: dict | None, frequency, recency, T, monetary, horizon: float):
    """The four per-buyer columns: p_alive, expected purchase days in `horizon`, expected order value and
    predicted value over 365 time units (expected purchase days in 365 × expected order value). A model that
    was not fitted (None) gives NaN for the columns it feeds."""
    x, t_x, T, m, _ = _as_arrays(frequency, recency, T, monetary)
    nan = np.full_like(x, np.nan)
    if bg_params is None:
        alive, in_horizon, in_year = nan, nan, nan
    else:
        alive = p_alive(bg_params, x, t_x, T)
        in_horizon = expected_purchases(bg_params, horizon, x, t_x, T)
        in_year = in_horizon if horizon == 365 else expected_purchases(bg_params, 365, x, t_x, T)
    value = nan if gg_params is None else expected_order_value(gg_params, x, m)
    return {
        "p_alive": alive,
        "expected_orders": in_horizon,
        "expected_order_value": value,
        "predicted_clv_365d": in_year * value,
    }
