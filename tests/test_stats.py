"""Tests of mpmlib.analysis.stats against published references and independent implementations.

References: R survival's ``lung`` data (shipped by lifelines, status 1 = death) with the published
``survfit`` output (R default conf.type "log") and SAS PROC LIFETEST defaults (CONFTYPE=LOGLOG),
as compared by CAMIS (PHUSE "Comparing Analysis Method Implementations in Software"); R
``binom.test`` for Clopper-Pearson; Schemper & Smith (1996) for reverse Kaplan-Meier follow-up.
Second implementations: lifelines ``KaplanMeierFitter`` and statsmodels ``SurvfuncRight`` /
``proportion_confint``.
"""

from __future__ import annotations

import warnings
from math import comb

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter
from lifelines.datasets import load_lung
from statsmodels.duration.survfunc import SurvfuncRight
from statsmodels.stats.proportion import proportion_confint
from scipy import stats as sps

from mpmlib.analysis import stats

TOL5 = dict(abs=5e-6)  # references published to 5 decimals


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    return load_lung()


def _groups(lung):
    return {"all": lung, "sex1": lung[lung["sex"] == 1], "sex2": lung[lung["sex"] == 2]}


# --- Clopper-Pearson and exact binomial test ----------------------------------------------

CP_REFERENCE = [  # x, n, lower, upper: R binom.test(x, n)$conf.int
    (5, 20, 0.086571, 0.491046),
    (0, 40, 0.0, 0.088097),
    (12, 40, 0.165627, 0.465316),
    (2, 12, 0.020863, 0.484138),
    (36, 154, 0.169415, 0.308649),
    (40, 40, 0.911903, 1.0),
]


@pytest.mark.parametrize("x, n, low, high", CP_REFERENCE)
def test_exact_binomial_ci_matches_r_binom_test(x, n, low, high):
    """Reference: R ``binom.test(x, n)$conf.int`` (Clopper-Pearson), 6 decimals."""
    got = stats.exact_binomial_ci(x, n)
    assert got == pytest.approx((low, high), abs=5e-7)


@pytest.mark.parametrize("x, n", [(x, n) for x, n, _, _ in CP_REFERENCE] + [(7, 31), (1, 3)])
def test_exact_binomial_ci_matches_statsmodels_beta(x, n):
    """Second implementation: statsmodels ``proportion_confint(method="beta")``."""
    assert stats.exact_binomial_ci(x, n, 0.1) == pytest.approx(
        proportion_confint(x, n, alpha=0.1, method="beta"), abs=1e-12)


def test_exact_binomial_ci_edges_and_validation():
    """x = 0 -> lower 0, x = n -> upper 1 exactly (Clopper & Pearson 1934); n = 0 -> nan."""
    assert stats.exact_binomial_ci(0, 7)[0] == 0.0 and stats.exact_binomial_ci(7, 7)[1] == 1.0
    assert all(np.isnan(stats.exact_binomial_ci(0, 0)))
    for x, n in [(-1, 5), (6, 5), (1.5, 5)]:
        with pytest.raises(ValueError):
            stats.exact_binomial_ci(x, n)
    with pytest.raises(ValueError, match="alpha"):
        stats.exact_binomial_ci(1, 5, alpha=1.5)


def test_two_sided_binomial_p_2_of_12():
    """Reference: R ``binom.test(2, 12)`` two-sided p = 0.03857 (= 158 / 4096), via scipy."""
    assert sps.binomtest(2, 12).pvalue == pytest.approx(0.03857, abs=5e-6)


@pytest.mark.parametrize("x, n, p0", [(5, 20, 0.1), (12, 40, 0.2), (0, 10, 0.3), (9, 9, 0.5)])
def test_binomial_test_greater_equals_upper_tail_sum(x, n, p0):
    """Second implementation: exact upper tail P(X >= x) = sum_k C(n, k) p0^k (1-p0)^(n-k)
    (R ``binom.test(x, n, p0, alternative = "greater")``; 5/20 vs 0.1 gives 0.043174)."""
    tail = sum(comb(n, k) * p0**k * (1 - p0) ** (n - k) for k in range(x, n + 1))
    assert stats.binomial_test_greater(x, n, p0) == pytest.approx(tail, rel=1e-12)
    if (x, n, p0) == (5, 20, 0.1):
        assert stats.binomial_test_greater(x, n, p0) == pytest.approx(0.043174, abs=5e-7)


def test_proportion_summary():
    """Reference: R ``binom.test(12, 40, 0.2, alternative = "greater")`` and its two-sided CI."""
    out = stats.proportion_summary(12, 40, p0=0.2)
    assert set(out) == {"n", "x", "rate", "ci_low", "ci_high", "p_value"}
    assert (out["n"], out["x"], out["rate"]) == (40, 12, 0.3)
    assert (out["ci_low"], out["ci_high"]) == pytest.approx((0.165627, 0.465316), abs=5e-7)
    assert out["p_value"] == pytest.approx(stats.binomial_test_greater(12, 40, 0.2))
    assert stats.proportion_summary(12, 40)["p_value"] is None


# --- Kaplan-Meier median ------------------------------------------------------------------

LUNG_MEDIANS = {  # group: median, {conf_type: (low, high)}
    "all": (310, {"log": (285, 363), "log-log": (284, 361), "plain": (284, 361)}),
    "sex1": (270, {"log": (212, 310), "log-log": (210, 306), "plain": (212, 306)}),
    "sex2": (426, {"log": (348, 550), "log-log": (345, 524), "plain": (345, 524)}),
}


@pytest.mark.parametrize("group", list(LUNG_MEDIANS))
@pytest.mark.parametrize("conf_type", ["log", "log-log", "plain"])
def test_km_median_lung(lung, group, conf_type):
    """Reference: R survival ``survfit(Surv(time, status) ~ 1 / ~ sex, lung)`` published output
    (conf.type "log", R default; also "plain") and SAS PROC LIFETEST default CONFTYPE=LOGLOG
    (CAMIS survival comparison): lung 310 (285-363 log; 284-361 log-log)."""
    data = _groups(lung)[group]
    median, limits = LUNG_MEDIANS[group]
    assert stats.km_median(data["time"], data["status"], conf_type) == (median, *limits[conf_type])


@pytest.mark.parametrize("group", list(LUNG_MEDIANS))
def test_km_median_matches_statsmodels_cloglog(lung, group):
    """Second implementation: statsmodels ``SurvfuncRight.quantile_ci(0.5, method="cloglog")``
    (Brookmeyer-Crowley inversion); it coincides with the band-crossing rule on lung."""
    data = _groups(lung)[group]
    sf = SurvfuncRight(data["time"].to_numpy(), data["status"].to_numpy())
    expected = (sf.quantile(0.5), *sf.quantile_ci(0.5, method="cloglog"))
    assert stats.km_median(data["time"], data["status"], "log-log") == tuple(map(float, expected))


def test_km_median_midpoint_rule():
    """Reference: R ``quantile.survfit`` / SAS PROC LIFETEST midpoint rule when S = 0.5 over an
    interval (lifelines gives 2.0 and 4.0, the latter from S = 0.5000000000000001)."""
    assert stats.km_median([1, 2, 3, 4], [1, 1, 1, 1])[0] == 2.5
    assert stats.km_median([1, 2, 3, 4, 5, 6], [1, 1, 1, 1, 1, 0])[0] == 3.5
    # R findq: flat at 0.5 to the end of follow-up -> midpoint of t_j and the last time (2, 4)
    assert stats.km_median([1, 2, 3, 4], [1, 1, 0, 0])[0] == 3.0
    assert stats.km_median([1.5, 2.5, 3.5, 4.5], [1, 0, 1, 0])[0] == 3.5  # float times


def test_km_median_not_reached_is_nan():
    """Reference: R ``print(survfit)`` reports NA (never Inf) for quantiles not reached."""
    assert all(np.isnan(stats.km_median([3, 5, 8], [0, 0, 0])))
    median, low, high = stats.km_median([1, 2, 3, 4], [1, 1, 1, 1])
    assert (median, low) == (2.5, 1.0) and np.isnan(high)  # upper band never reaches 0.5
    assert all(np.isnan(stats.km_median([], [])))


# --- Kaplan-Meier table and landmarks ------------------------------------------------------

def test_km_table_matches_lifelines_and_statsmodels(lung):
    """Second implementations: lifelines ``KaplanMeierFitter`` (survival_function_ and its
    confidence_interval_, which is log-log) and statsmodels ``SurvfuncRight.surv_prob_se``
    (Greenwood SE of S) on R's lung data."""
    table = stats.km_table(lung["time"], lung["status"])
    assert list(table.columns) == stats.KM_COLUMNS
    totals = (table["n_risk"].iloc[0], table["n_event"].sum(), table["n_censor"].sum())
    assert totals == (228, 165, 63)
    kmf = KaplanMeierFitter().fit(lung["time"], lung["status"])
    ref = kmf.survival_function_.join(kmf.confidence_interval_).loc[table["time"]]
    np.testing.assert_allclose(table["survival"], ref.iloc[:, 0], rtol=1e-12)
    np.testing.assert_allclose(table["ci_low"], ref.iloc[:, 1], rtol=1e-9)
    np.testing.assert_allclose(table["ci_high"], ref.iloc[:, 2], rtol=1e-9)
    sf = SurvfuncRight(lung["time"].to_numpy(), lung["status"].to_numpy())
    events = table[table["n_event"] > 0]
    np.testing.assert_allclose(events["time"], sf.surv_times)
    np.testing.assert_allclose(events["std_err"], sf.surv_prob_se, rtol=1e-10)


LUNG_LANDMARKS = {  # R summary(survfit(...), times = c(180, 365)); SAS TIMELIST=180 365
    "log": [(180, 160, 0.72167, 0.66554, 0.78253), (365, 65, 0.40924, 0.34472, 0.48584)],
    "log-log": [(180, 160, 0.72167, 0.65830, 0.77531), (365, 65, 0.40924, 0.33871, 0.47838)],
}


@pytest.mark.parametrize("conf_type", list(LUNG_LANDMARKS))
def test_km_survival_at_lung(lung, conf_type):
    """Reference: R ``summary(survfit(Surv(time, status) ~ 1, lung), times = c(180, 365))``
    (log) and SAS PROC LIFETEST TIMELIST (log-log). n_risk = number with time >= t (R "at risk
    at t-0"): 65 subjects have time >= 365 in lung."""
    got = stats.km_survival_at(lung["time"], lung["status"], [180, 365], conf_type)
    assert list(got.columns) == ["time", "n_risk", "survival", "ci_low", "ci_high"]
    expected = pd.DataFrame(LUNG_LANDMARKS[conf_type], columns=got.columns)
    assert list(got["n_risk"]) == list(expected["n_risk"])
    for column in ("survival", "ci_low", "ci_high"):
        assert list(got[column]) == pytest.approx(list(expected[column]), **TOL5)


def test_km_survival_at_edges(lung):
    """Before the first time S = 1 with all at risk; after the last follow-up NaN (R
    ``summary.survfit`` with extend = FALSE does not extrapolate)."""
    got = stats.km_survival_at(lung["time"], lung["status"], [0, 1022, 1023])
    assert got.loc[0, ["n_risk", "survival", "ci_low", "ci_high"]].tolist() == [228, 1, 1, 1]
    assert got.loc[1, "survival"] == pytest.approx(0.050346, **TOL5)
    assert got.loc[2, "n_risk"] == 0 and got.loc[2, ["survival", "ci_low", "ci_high"]].isna().all()


def test_median_followup_reverse_km(lung):
    """Reference: Schemper & Smith (1996) reverse KM; R ``survfit(Surv(time, 1 - status) ~ 1,
    lung)`` median 588 days."""
    assert stats.median_followup_reverse_km(lung["time"], lung["status"])[0] == 588


def test_km_summary(lung):
    """Reference: R survival lung published output (310 days, log 285-363), in months."""
    out = stats.km_summary(lung["time"], lung["status"], "log", landmarks=(6, 12),
                           time_unit_divisor=30.4375)
    assert (out["n"], out["events"], out["censored"]) == (228, 165, 63)
    assert (out["median"], out["ci_low"], out["ci_high"]) == pytest.approx(
        (310 / 30.4375, 285 / 30.4375, 363 / 30.4375), rel=1e-12)
    assert list(out["landmarks"]["time"]) == [6, 12]
    assert out["landmarks"]["survival"].iloc[1] == pytest.approx(0.40924, **TOL5)  # 365.25 days


# --- input checks, warnings, speed ----------------------------------------------------------

@pytest.mark.parametrize("time, event, message", [
    ([1, np.nan, 3], [1, 0, 1], "time: 1 missing"),
    ([1, "x", 3], [1, 0, 1], "time: 1 missing, non-numeric"),
    ([1, 2, 3], [1, None, 1], "event: 1 missing"),
    ([1, 2, 3], [1, 2, 1], "event must be 1"),
    ([1, -2, 3], [1, 0, 1], "negative time"),
    ([1, 2, 3], [1, 0], "differ in length"),
])
def test_bad_survival_input_raises(time, event, message):
    """Rule: nothing is dropped silently (DEVELOPERS.md); each problem is named."""
    with pytest.raises(ValueError, match=message):
        stats.km_median(time, event)


def test_bad_conf_type_raises():
    with pytest.raises(ValueError, match="conf_type"):
        stats.km_table([1, 2], [1, 0], conf_type="arcsin")


def test_no_warnings_on_edge_cases():
    """Survival reaching 0 or staying at 1, n = 0 and all-censored data emit no warnings."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for conf_type in stats.CONF_TYPES:
            stats.km_table([1, 2, 3, 4], [1, 1, 1, 1], conf_type)
            stats.km_summary([2, 2, 5], [0, 0, 0], conf_type, landmarks=(1, 9))
        stats.proportion_summary(0, 0, p0=0.2)


def test_km_table_large_sample_with_ties_matches_lifelines():
    """10,000 subjects with many tied times: survival equals lifelines KaplanMeierFitter
    (second implementation). Speed is measured in bench/, not asserted here."""
    from lifelines import KaplanMeierFitter

    rng = np.random.default_rng(20240601)
    time, event = rng.exponential(300, 10_000).round(), rng.integers(0, 2, 10_000)
    table = stats.km_table(time, event)
    kmf = KaplanMeierFitter().fit(time, event)
    expected = kmf.survival_function_.iloc[:, 0].reindex(table["time"]).to_numpy()
    np.testing.assert_allclose(table["survival"].to_numpy(), expected, rtol=1e-10)


# --- random-intercept linear mixed model ------------------------------------------------------

def _design(frame: pd.DataFrame, factor: str, covariates: list[str]) -> pd.DataFrame:
    x = pd.get_dummies(frame[factor], prefix=factor, drop_first=True, dtype=float)
    x.insert(0, "Intercept", 1.0)
    for c in covariates:
        x[c] = frame[c]
    return x


def test_random_intercept_reml_matches_statsmodels_documented_dietox():
    """Published example: statsmodels' MixedLM documentation (dietox, Weight ~ Time, random
    intercept per pig, REML), the same fit as lme4 (tests/data/SOURCES.md)."""
    from pathlib import Path

    d = pd.read_csv(Path(__file__).parent / "data" / "dietox.csv")
    fit = stats.random_intercept_reml(d["Weight"], pd.DataFrame({"Intercept": 1.0, "Time": d["Time"]}), d["Pig"])
    se = np.sqrt(np.diag(fit["cov_params"]))
    assert fit["converged"] and fit["n_obs"] == 861 and fit["n_groups"] == 72
    assert fit["params"].round(3).tolist() == [15.724, 6.943]
    assert se.round(3).tolist() == [0.788, 0.033]
    assert round(fit["tau2"], 3) == 40.394 and round(fit["sigma2"], 4) == 11.3669
    assert round(fit["loglike"], 4) == -2404.7753


def _unbalanced(seed: int, group_sd: float) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    groups = np.repeat(np.arange(60), rng.integers(1, 7, 60))
    visit = rng.integers(0, 4, len(groups))
    base = rng.normal(50, 10, len(groups))
    y = (3 + 2 * (visit == 1) - (visit == 2) + 0.5 * (visit == 3) - 0.3 * (base - 50)
         + rng.normal(0, group_sd, 60)[groups] + rng.normal(0, 6, len(groups)))
    return pd.DataFrame({"y": y, "visit": visit, "base": base - base.mean(), "g": groups})


def test_random_intercept_reml_equals_statsmodels_and_dense_gls_on_unbalanced_data():
    """Second implementations: statsmodels MixedLM (estimates, variance components, REML
    log-likelihood) and a dense generalised-least-squares computation of (X' V^-1 X)^-1 with V
    built subject by subject from the fitted variances (the model-based covariance lme4 and SAS
    PROC MIXED report; statsmodels inverts the full observed Hessian, which differs slightly)."""
    import scipy.linalg
    import statsmodels.formula.api as smf

    d = _unbalanced(1, 4.0)
    x = _design(d, "visit", ["base"])
    fit = stats.random_intercept_reml(d["y"], x, d["g"])
    ref = smf.mixedlm("y ~ C(visit) + base", d, groups=d["g"]).fit(reml=True)
    np.testing.assert_allclose(fit["params"].to_numpy(), ref.fe_params.to_numpy(), atol=1e-5)
    assert fit["tau2"] == pytest.approx(float(ref.cov_re.iloc[0, 0]), rel=1e-4)
    assert fit["sigma2"] == pytest.approx(float(ref.scale), rel=1e-5)
    assert fit["loglike"] == pytest.approx(float(ref.llf), abs=1e-6)
    blocks = [fit["sigma2"] * np.eye(n) + fit["tau2"] * np.ones((n, n)) for n in d.groupby("g", sort=False).size()]
    order = np.argsort(pd.factorize(d["g"])[0], kind="stable")
    xs = x.to_numpy()[order]
    gls_cov = np.linalg.inv(xs.T @ np.linalg.solve(scipy.linalg.block_diag(*blocks), xs))
    np.testing.assert_allclose(fit["cov_params"].to_numpy(), gls_cov, rtol=1e-8)
    np.testing.assert_allclose(np.sqrt(np.diag(gls_cov)), ref.bse_fe.to_numpy(), rtol=0.02)


def test_random_intercept_reml_without_group_variation_is_least_squares():
    """Boundary tau2 = 0 (no subject effect in the data): the REML fit is ordinary least
    squares (statsmodels OLS), sigma2 the OLS residual variance."""
    import statsmodels.api as sm

    d = _unbalanced(7, 0.0)
    d["y"] = d["y"] - d.groupby("g")["y"].transform("mean") * 0.9 + d["y"].mean() * 0.9  # within-subject anti-correlation
    x = _design(d, "visit", ["base"])
    fit = stats.random_intercept_reml(d["y"], x, d["g"])
    ols = sm.OLS(d["y"], x).fit()
    assert fit["tau2"] == 0.0
    np.testing.assert_allclose(fit["params"].to_numpy(), ols.params.to_numpy(), atol=1e-8)
    assert fit["sigma2"] == pytest.approx(ols.scale, rel=1e-8)
    np.testing.assert_allclose(fit["cov_params"].to_numpy(), ols.cov_params().to_numpy(), rtol=1e-6)


def test_random_intercept_reml_rejects_bad_input():
    x = pd.DataFrame({"Intercept": [1.0, 1.0, 1.0], "a": [1.0, 2.0, np.nan]})
    with pytest.raises(ValueError, match="missing or infinite"):
        stats.random_intercept_reml([1, 2, 3], x, ["a", "a", "b"])
    with pytest.raises(ValueError, match="full rank"):
        stats.random_intercept_reml([1, 2, 3], pd.DataFrame({"Intercept": 1.0, "b": [1.0, 1.0, 1.0]}, index=range(3)),
                                    ["a", "a", "b"])
