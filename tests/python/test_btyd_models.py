"""lifecycle_pipeline/btyd.py: our BG/NBD and Gamma-Gamma fits and scores against lifetimes (the reference, a
dev dependency), against Fader & Hardie's published CDNOW estimates, and on hand-computed cases.

CDNOW (lifetimes' bundled sample: 2,357 customers, calibration to 1997-09-30, time in weeks) is what the
papers fit: BG/NBD r 0.243, alpha 4.414, a 0.793, b 2.426 (log-likelihood −9582.4); Gamma-Gamma p 6.25,
q 3.74, v 15.44. No dbt here: this file runs in about a second.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.datasets import load_cdnow_summary, load_cdnow_summary_data_with_monetary_value
from scipy import integrate, special

from lifecycle_pipeline import btyd

BG_NAMES = ["r", "alpha", "a", "b"]
GG_NAMES = ["p", "q", "v"]


def significant(value: float, digits: int = 3) -> float:
    return float(f"{value:.{digits - 1}e}")


@pytest.fixture(scope="module")
def cdnow():
    return load_cdnow_summary()


@pytest.fixture(scope="module")
def cdnow_repeat():
    data = load_cdnow_summary_data_with_monetary_value()
    return data[data["frequency"] > 0]


@pytest.fixture(scope="module")
def ours_bg(cdnow):
    return btyd.fit_bgnbd(*btyd.compress(cdnow["frequency"], cdnow["recency"], cdnow["T"]))


@pytest.fixture(scope="module")
def theirs_bg(cdnow):
    return BetaGeoFitter().fit(cdnow["frequency"], cdnow["recency"], cdnow["T"])


@pytest.fixture(scope="module")
def ours_gg(cdnow_repeat):
    return btyd.fit_gamma_gamma(*btyd.compress(cdnow_repeat["frequency"], cdnow_repeat["monetary_value"]))


@pytest.fixture(scope="module")
def theirs_gg(cdnow_repeat):
    return GammaGammaFitter().fit(cdnow_repeat["frequency"], cdnow_repeat["monetary_value"])


# --------------------------------------------------------------------------------------------------------
# CDNOW against lifetimes and the published values
# --------------------------------------------------------------------------------------------------------


def test_cdnow_is_fitted_on_far_fewer_distinct_rows_than_customers(cdnow):
    x, _, _, weights = btyd.compress(cdnow["frequency"], cdnow["recency"], cdnow["T"])
    assert weights.sum() == len(cdnow) == 2357
    assert len(x) < 0.5 * len(cdnow)


@pytest.mark.parametrize("name", BG_NAMES)
def test_bgnbd_parameters_equal_lifetimes_to_3_significant_figures(ours_bg, theirs_bg, name):
    assert ours_bg.converged and ours_bg.reason is None
    assert significant(ours_bg.params[name]) == significant(theirs_bg.params_[name])


def test_bgnbd_log_likelihood_at_least_lifetimes(cdnow, ours_bg, theirs_bg):
    args = (cdnow["frequency"].to_numpy(), cdnow["recency"].to_numpy(), cdnow["T"].to_numpy())
    theirs_params = [theirs_bg.params_[n] for n in BG_NAMES]
    # Our log-likelihood function is lifetimes' (its mean, negated) at their estimate ...
    lifetimes_mean = BetaGeoFitter._negative_log_likelihood(np.log(theirs_params), *args, np.ones(len(cdnow)), 0.0)
    theirs_total = btyd.bgnbd_log_likelihood(theirs_params, *args)
    assert theirs_total == pytest.approx(-lifetimes_mean * len(cdnow), rel=1e-12)
    # ... and our estimate is at least as likely as theirs.
    assert ours_bg.log_likelihood == pytest.approx(btyd.bgnbd_log_likelihood(ours_bg.params, *args), rel=1e-12)
    assert ours_bg.log_likelihood >= theirs_total - 1e-9


def test_bgnbd_reproduces_fader_hardie_lee_2005(ours_bg):
    assert {n: round(ours_bg.params[n], 3) for n in BG_NAMES} == {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    assert round(ours_bg.log_likelihood, 1) == -9582.4


def test_bgnbd_in_days_gives_alpha_30_9_days_and_the_same_shape(cdnow, ours_bg):
    """Time in days (×7): alpha scales to 30.9 days, r, a and b stay; the log-likelihood of the purchase times
    drops by ln 7 per repeat purchase (a density per day instead of per week)."""
    days = btyd.fit_bgnbd(*btyd.compress(cdnow["frequency"], 7 * cdnow["recency"], 7 * cdnow["T"]))
    assert round(days.params["alpha"], 1) == 30.9
    for name in ("r", "a", "b"):
        assert days.params[name] == pytest.approx(ours_bg.params[name], rel=1e-4)
    expected = ours_bg.log_likelihood - cdnow["frequency"].sum() * math.log(7)
    assert days.log_likelihood == pytest.approx(expected, rel=1e-7)


@pytest.mark.parametrize("name", GG_NAMES)
def test_gamma_gamma_parameters_equal_lifetimes_to_3_significant_figures(ours_gg, theirs_gg, name):
    assert ours_gg.converged and ours_gg.reason is None
    assert significant(ours_gg.params[name]) == significant(theirs_gg.params_[name])


def test_gamma_gamma_log_likelihood_at_least_lifetimes(cdnow_repeat, ours_gg, theirs_gg):
    args = (cdnow_repeat["frequency"].to_numpy(), cdnow_repeat["monetary_value"].to_numpy())
    theirs_params = [theirs_gg.params_[n] for n in GG_NAMES]
    lifetimes_mean = GammaGammaFitter._negative_log_likelihood(
        np.log(theirs_params), *args, np.ones(len(cdnow_repeat)), 0.0
    )
    theirs_total = btyd.gamma_gamma_log_likelihood(theirs_params, *args)
    assert theirs_total == pytest.approx(-lifetimes_mean * len(cdnow_repeat), rel=1e-12)
    assert ours_gg.log_likelihood >= theirs_total - 1e-9


def test_gamma_gamma_reproduces_fader_hardie_lee_2005b(ours_gg):
    published = {"p": 6.25, "q": 3.74, "v": 15.44}
    assert {n: significant(ours_gg.params[n]) for n in GG_NAMES} == {n: significant(v) for n, v in published.items()}
    assert ours_gg.buyers == 946
    # The model assumes frequency and average value independent; on CDNOW they correlate weakly.
    assert ours_gg.extras["frequency_monetary_correlation"] == pytest.approx(0.1139, abs=1e-4)


# --------------------------------------------------------------------------------------------------------
# Per-customer scores against lifetimes' formulas with the same parameters
# --------------------------------------------------------------------------------------------------------


def _lifetimes_bg(params: dict) -> BetaGeoFitter:
    fitter = BetaGeoFitter()
    fitter.params_ = __import__("pandas").Series({n: params[n] for n in BG_NAMES})
    return fitter


def test_p_alive_equals_lifetimes_for_every_customer(cdnow, ours_bg):
    args = (cdnow["frequency"], cdnow["recency"], cdnow["T"])
    theirs = _lifetimes_bg(ours_bg.params).conditional_probability_alive(*args)
    np.testing.assert_allclose(btyd.p_alive(ours_bg.params, *args), theirs, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("horizon", [1, 12.5, 39, 52, 520])
def test_expected_purchases_equal_lifetimes_for_every_customer(cdnow, ours_bg, horizon):
    args = (cdnow["frequency"], cdnow["recency"], cdnow["T"])
    theirs = _lifetimes_bg(ours_bg.params).conditional_expected_number_of_purchases_up_to_time(horizon, *args)
    ours = btyd.expected_purchases(ours_bg.params, horizon, *args)
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)


def test_expected_order_value_equals_lifetimes_for_every_customer(ours_gg):
    data = load_cdnow_summary_data_with_monetary_value()
    fitter = GammaGammaFitter()
    fitter.params_ = __import__("pandas").Series({n: ours_gg.params[n] for n in GG_NAMES})
    theirs = fitter.conditional_expected_average_profit(data["frequency"], data["monetary_value"])
    ours = btyd.expected_order_value(ours_gg.params, data["frequency"], data["monetary_value"])
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-12)
    # one-time buyers get the population mean
    one_time = data["frequency"].to_numpy() == 0
    assert np.allclose(ours[one_time], btyd.population_order_value(ours_gg.params), rtol=1e-12)


# --------------------------------------------------------------------------------------------------------
# Hand-computed cases
# --------------------------------------------------------------------------------------------------------


def expected_purchases_by_integration(params: dict, t: float, x: float, t_x: float, T: float) -> float:
    """E[purchases in t] from the model's definition, not from the 2F1 closed form: P(alive) × the mean, over the
    posterior Beta(a, b + x) of the drop-out probability p, of (1 − E[exp(−λ p t)]) / p, with λ's posterior
    Gamma(r + x, alpha + T) integrated out: E[exp(−λ p t)] = ((alpha + T) / (alpha + T + p t))^(r + x)."""
    r, alpha, a, b = (params[n] for n in BG_NAMES)

    def integrand(p):
        return (
            (1 - ((alpha + T) / (alpha + T + p * t)) ** (r + x))
            / p
            * math.exp((a - 1) * math.log(p) + (b + x - 1) * math.log1p(-p) - special.betaln(a, b + x))
        )

    mean_if_alive, _ = integrate.quad(integrand, 0, 1, epsabs=1e-13, epsrel=1e-12)
    alive = 1.0 if x == 0 else 1 / (1 + a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
    return alive * mean_if_alive


def test_one_time_buyer():
    """x = 0: alive for sure; with r = 1, a = 2, b = 1 the closed form reduces to 2 (1 − (α+T)/t · ln(1 + t/(α+T)))
    (2F1(1, 1; 2; y) = −ln(1 − y) / y), with alpha 10, T 30, t 40: 2 (1 − ln 2); value = population mean."""
    params = {"r": 1.0, "alpha": 10.0, "a": 2.0, "b": 1.0}
    assert btyd.p_alive(params, [0], [0], [30])[0] == 1.0
    expected = btyd.expected_purchases(params, 40, [0], [0], [30])[0]
    assert expected == pytest.approx(2 * (1 - math.log(2)), rel=1e-12)
    assert expected == pytest.approx(expected_purchases_by_integration(params, 40, 0, 0, 30), rel=1e-9)
    value = btyd.expected_order_value({"p": 2.0, "q": 3.0, "v": 10.0}, [0], [0])[0]
    assert value == pytest.approx(2 * 10 / (3 - 1))  # p v / (q − 1) = 10


def test_frequent_buyer():
    """x = 10 repeat days, the last 5 days ago (t_x 95, T 100), r 2, alpha 10, a 2, b 3:
    P(alive) = 1 / (1 + a/(b+x−1) · ((α+T)/(α+t_x))^(r+x)) = 1 / (1 + 2/12 · (110/105)^12)."""
    params = {"r": 2.0, "alpha": 10.0, "a": 2.0, "b": 3.0}
    alive = btyd.p_alive(params, [10], [95], [100])[0]
    assert alive == pytest.approx(1 / (1 + 2 / 12 * (110 / 105) ** 12), rel=1e-12)
    assert alive > 0.7
    for t in (30, 90, 365):
        ours = btyd.expected_purchases(params, t, [10], [95], [100])[0]
        assert ours == pytest.approx(expected_purchases_by_integration(params, t, 10, 95, 100), rel=1e-8)
    # ~11 purchase days in 100 days: roughly one every 9 days, fewer in expectation as drop-out looms.
    assert 4 < btyd.expected_purchases(params, 90, [10], [95], [100])[0] < 11
    # value: p (v + x m) / (p x + q − 1) = 2 (10 + 500) / (20 + 2)
    value = btyd.expected_order_value({"p": 2.0, "q": 3.0, "v": 10.0}, [10], [50])[0]
    assert value == pytest.approx(1020 / 22, rel=1e-12)


def test_buyer_who_stopped_long_ago():
    """x = 5, all in the first 30 days, then 370 days of silence (T 400): P(alive) =
    1 / (1 + 2/7 · (410/40)^7) ≈ 2.1e-8; expected purchases next to nothing."""
    params = {"r": 2.0, "alpha": 10.0, "a": 2.0, "b": 3.0}
    alive = btyd.p_alive(params, [5], [30], [400])[0]
    assert alive == pytest.approx(1 / (1 + 2 / 7 * (410 / 40) ** 7), rel=1e-12)
    assert alive < 1e-6
    ours = btyd.expected_purchases(params, 90, [5], [30], [400])[0]
    assert ours == pytest.approx(expected_purchases_by_integration(params, 90, 5, 30, 400), rel=1e-8)
    assert ours < 1e-6


def test_large_frequency_uses_the_transformed_hypergeometric():
    """A buyer with 300 repeat days overflows 2F1(r+x, b+x; c; z) directly; the Pfaff form gives the value."""
    params = {"r": 0.5, "alpha": 5.0, "a": 0.8, "b": 2.5}
    ours = btyd.expected_purchases(params, 365, [300], [699], [700])[0]
    assert np.isfinite(ours)
    assert ours == pytest.approx(expected_purchases_by_integration(params, 365, 300, 699, 700), rel=1e-6)


def test_score_multiplies_year_purchases_by_value():
    bg = {"r": 2.0, "alpha": 10.0, "a": 2.0, "b": 3.0}
    gg = {"p": 2.0, "q": 3.0, "v": 10.0}
    scores = btyd.score(bg, gg, [10, 0], [95, 0], [100, 30], [50, 0], horizon=90)
    year = btyd.expected_purchases(bg, 365, [10, 0], [95, 0], [100, 30])
    np.testing.assert_allclose(scores["predicted_clv_365d"], year * scores["expected_order_value"], rtol=1e-15)
    np.testing.assert_allclose(scores["expected_orders"], btyd.expected_purchases(bg, 90, [10, 0], [95, 0], [100, 30]))


# --------------------------------------------------------------------------------------------------------
# Guard rails
# --------------------------------------------------------------------------------------------------------


def test_too_few_buyers_are_not_fitted(cdnow):
    few = cdnow.head(40)
    fit = btyd.fit_bgnbd(few["frequency"], few["recency"], few["T"], min_buyers=500)
    assert fit.params is None and not fit.converged and fit.log_likelihood is None
    assert fit.reason == "40 buyers, fewer than min_buyers_for_prediction 500"
    repeat = few[few["frequency"] > 0]
    gg = btyd.fit_gamma_gamma(repeat["frequency"], np.full(len(repeat), 20.0), min_buyers=500)
    assert gg.params is None and gg.reason.startswith(f"{len(repeat)} repeat buyers, fewer than")
    scores = btyd.score(None, None, few["frequency"], few["recency"], few["T"], np.zeros(40), horizon=90)
    assert all(np.isnan(v).all() for v in scores.values())


def test_no_repeat_buyer_is_not_fitted():
    fit = btyd.fit_bgnbd(np.zeros(600), np.zeros(600), np.full(600, 50.0))
    assert fit.params is None and fit.reason == "no buyer has bought on a second day: nothing to fit"


def test_a_fit_that_does_not_converge_says_so(cdnow, monkeypatch):
    monkeypatch.setattr(btyd, "MAX_ITERATIONS", 2)
    fit = btyd.fit_bgnbd(*btyd.compress(cdnow["frequency"], cdnow["recency"], cdnow["T"]))
    assert fit.params is None and not fit.converged and fit.iterations == 2
    assert fit.reason.startswith("did not converge after 2 iterations")


def test_a_maximum_on_the_edge_of_the_parameter_space_is_accepted(monkeypatch):
    """Buyers simulated with one drop-out probability (0.2) for all: the likelihood is nearly flat as a + b grows
    with a/(a+b) fixed (on the bundled sample it rises to a + b ≈ 10^6). With the coordinates' bound lowered to
    ±4 the maximum over a + b lies on the edge (e^4 ≈ 55 < the free estimate, ~390): the fit is converged there
    (the gradient pushes outwards only) and a/(a+b) and r/alpha are where they were simulated."""
    rng = np.random.default_rng(3)
    n = 4000
    rate = rng.gamma(2.0, 1 / 40.0, n)  # r 2, alpha 40 days
    x, t_x = np.zeros(n), np.zeros(n)
    T = rng.uniform(30, 300, n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / rate[i])
            if t > T[i]:
                break
            x[i], t_x[i] = x[i] + 1, t
            if rng.random() < 0.2:
                break
    summary = btyd.compress(x, np.round(t_x), np.round(T))
    free = btyd.fit_bgnbd(*summary)
    assert free.converged and free.params["a"] + free.params["b"] > math.exp(5)
    monkeypatch.setattr(btyd, "LOG_BOUND", 4.0)
    edge = btyd.fit_bgnbd(*summary)
    assert edge.converged and edge.reason is None
    assert edge.params["a"] + edge.params["b"] == pytest.approx(math.exp(4.0), rel=1e-9)
    assert edge.log_likelihood < free.log_likelihood
    for fit in (free, edge):
        assert fit.params["a"] / (fit.params["a"] + fit.params["b"]) == pytest.approx(0.2, abs=0.02)
        assert fit.params["r"] / fit.params["alpha"] == pytest.approx(2 / 40, rel=0.1)


def test_weighted_correlation():
    x, y = np.array([1.0, 2.0, 3.0]), np.array([2.0, 4.0, 6.0])
    assert btyd.weighted_correlation(x, y, np.array([1.0, 5.0, 2.0])) == pytest.approx(1.0)
    assert btyd.weighted_correlation(x, -y, np.ones(3)) == pytest.approx(-1.0)
    assert btyd.weighted_correlation(x[:1], y[:1], np.ones(1)) is None


def test_analytic_gradients_match_finite_differences(cdnow, cdnow_repeat):
    """The optimiser trusts the gradients: each equals a central difference of the log-likelihood."""
    cases = [
        (
            btyd._bgnbd_value_and_gradient,
            btyd._Histories(*btyd.compress(cdnow["frequency"], cdnow["recency"], cdnow["T"])),
        ),
        (
            btyd._gamma_gamma_value_and_gradient,
            btyd._Values(*btyd.compress(cdnow_repeat["frequency"], cdnow_repeat["monetary_value"])),
        ),
    ]
    for (function, data), point in zip(cases, [[-1.2, 1.5, -0.3, 0.9], [1.8, 1.3, 2.7]], strict=True):
        point = np.array(point)
        _, gradient = function(point, data, want_gradient=True)
        for i in range(len(point)):
            step = np.zeros_like(point)
            step[i] = 1e-6
            numeric = (function(point + step, data, False)[0] - function(point - step, data, False)[0]) / 2e-6
            assert gradient[i] == pytest.approx(numeric, rel=1e-6, abs=1e-4)
