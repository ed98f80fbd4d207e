"""Regression models of the influencing-factors analysis (mpmlib.analysis.models).

References (each test names its own; data files and their sources in tests/data/SOURCES.md):
* R ``coxph`` on the Rossi recidivism data (Fox & Weisberg, An R Companion to Applied Regression,
  Cox-regression appendix) and on R ``lung``; R ``survdiff`` on ``lung``;
* R survival 3.5-3 ``cox.zph`` (score test, survival >= 3.0) on lung, veteran, MASS gehan and lung
  in months, stored by ``tests/data/coxzph_reference.R``;
* statsmodels ``GLM(Binomial)`` as a second implementation of ML logistic regression;
* R logistf / brglm2 Firth fits of the endometrial data (Heinze & Schemper 2002) and of logistf's
  ``sex2``; the closed form of Firth's estimate in a 2 x 2 table.
Every test fails on a leaked warning (module mark below).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from lifelines.datasets import load_lung, load_rossi
from scipy.stats import chi2

from mpmlib.analysis.models import PH_TEST_METHOD, PH_TRANSFORMS, cox_regression, logistic_regression, logrank, ph_score_test

pytestmark = pytest.mark.filterwarnings("error")

DATA = Path(__file__).parent / "data"
ROSSI = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]


def _glm(data: pd.DataFrame, outcome: str, covariates: list[str]):
    """statsmodels GLM(Binomial) by IRLS, run to tol 1e-12 (its default 1e-8 stops ~1e-5 short)."""
    x = sm.add_constant(data[covariates])
    return sm.GLM(data[outcome], x, family=sm.families.Binomial()).fit(tol=1e-12)


@pytest.fixture(scope="module")
def endometrial():
    return pd.read_csv(DATA / "endometrial.csv")


@pytest.fixture(scope="module")
def sex2():
    return pd.read_csv(DATA / "sex2.csv")


# --- Cox and log-rank --------------------------------------------------------------------------

def test_cox_rossi_matches_r_coxph():
    """R ``coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio, data = Rossi)``
    (Efron ties) as published by Fox & Weisberg (Cox appendix); fin's se, p and HR CI from R
    ``summary()`` (0.19138, 0.04742, 0.4702-0.9957, as quoted in the surpyval test suite)."""
    table, info = cox_regression(load_rossi(), "week", "arrest", ROSSI)
    r = {"fin": -0.37942, "age": -0.05744, "race": 0.31390, "wexp": -0.14980, "mar": -0.43370,
         "paro": -0.08487, "prio": 0.09150}
    assert list(table.index) == ROSSI
    np.testing.assert_allclose(table["coef"], [r[c] for c in ROSSI], atol=1e-4)
    fin = table.loc["fin"]
    assert fin["se"] == pytest.approx(0.19138, abs=1e-5)
    assert fin["p_value"] == pytest.approx(0.04742, abs=1e-5)
    assert (fin["ci_low"], fin["ci_high"]) == pytest.approx((0.4702, 0.9957), abs=1e-4)
    np.testing.assert_allclose(table["hazard_ratio"], np.exp(table["coef"]))
    assert info["n_used"] == 432 and info["n_events"] == 114 and info["n_dropped"] == 0
    assert info["events_per_variable"] == pytest.approx(114 / 7)
    assert info["converged"] and info["problem"] is None


ZPH_DATA = ["lung", "veteran", "gehan", "lungmonths"]


def _zph_reference(name: str):
    """R output of ``tests/data/coxzph_reference.R`` (R 4.2.2, survival 3.5-3) for one data set:
    the data used, its coxph coefficients (Efron and Breslow ties) and its cox.zph tables."""
    data = pd.read_csv(DATA / f"coxzph_{name}_data.csv")
    return (data, [c for c in data.columns if c not in ("time", "status")],
            pd.read_csv(DATA / f"coxzph_{name}_coef.csv"), pd.read_csv(DATA / f"coxzph_{name}.csv"))


def _zph_table(zph: pd.DataFrame, ties: str, transform: str) -> pd.DataFrame:
    return zph[(zph["ties"] == ties) & (zph["transform"] == transform)].set_index("term")


@pytest.mark.parametrize("transform", PH_TRANSFORMS)
@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("name", ZPH_DATA)
def test_ph_score_test_matches_r_cox_zph(name, ties, transform):
    """R survival 3.5-3 ``cox.zph(coxph(Surv(time, status) ~ ..., ties = ties), transform =
    transform)`` (tests/data/coxzph_<name>.csv, made by tests/data/coxzph_reference.R) on R's
    lung, veteran (dummy-coded cell type), MASS gehan (heavy ties) and lung in months (heavy
    ties, 3 covariates), given R's own coefficients: every term's and the GLOBAL chi-square, df
    and p-value equal R's to 1e-9 relative (measured: 4e-13)."""
    data, covariates, coef, zph = _zph_reference(name)
    beta = coef[coef["ties"] == ties].set_index("term").loc[covariates, "coef"]
    result = ph_score_test(data[covariates], data["time"], data["status"], beta, transform, ties)
    r = _zph_table(zph, ties, transform)
    assert list(result.index) == [*covariates, "GLOBAL"] == list(r.index)
    np.testing.assert_allclose(result["test_statistic"], r["chisq"], rtol=1e-9)
    np.testing.assert_allclose(result["p_value"], r["p"], rtol=1e-9)
    np.testing.assert_array_equal(result["df"], r["df"])


@pytest.mark.parametrize("name", ZPH_DATA)
def test_cox_regression_ph_test_is_r_cox_zph_km(name):
    """R survival 3.5-3 ``cox.zph(coxph(Surv(time, status) ~ ...))`` (Efron ties, transform "km",
    R's defaults; tests/data/coxzph_<name>.csv) through ``cox_regression``'s own lifelines fit:
    coefficients equal R ``coxph``'s to 1e-6 relative, PH chi-squares and p-values per covariate
    and GLOBAL to 1e-5 relative (measured: 1.4e-6, gehan, where both fits stop at their
    convergence tolerance); the violations flagged are R's p < 0.05."""
    data, covariates, coef, zph = _zph_reference(name)
    table, info = cox_regression(data, "time", "status", covariates)
    r_coef = coef[coef["ties"] == "efron"].set_index("term").loc[covariates, "coef"]
    np.testing.assert_allclose(table["coef"], r_coef, rtol=1e-6, atol=1e-9)
    r = _zph_table(zph, "efron", "km")
    ph = info["ph_test"]
    assert list(ph.index) == covariates and list(ph.columns) == ["test_statistic", "p_value"]
    np.testing.assert_allclose(ph["test_statistic"], r.loc[covariates, "chisq"], rtol=1e-5)
    np.testing.assert_allclose(ph["p_value"], r.loc[covariates, "p"], rtol=1e-5)
    glob = info["ph_global"]
    assert glob["df"] == r.loc["GLOBAL", "df"] == len(covariates)
    assert glob["test_statistic"] == pytest.approx(r.loc["GLOBAL", "chisq"], rel=1e-5)
    assert glob["p_value"] == pytest.approx(r.loc["GLOBAL", "p"], rel=1e-5)
    assert info["ph_violated"] == [c for c in covariates if r.loc[c, "p"] < 0.05]
    assert info["ph_method"] == PH_TEST_METHOD and "cox.zph" in PH_TEST_METHOD and '"km"' in PH_TEST_METHOD


def test_ph_score_test_ignores_row_order_and_checks_input():
    """Hand-built from R's veteran data (reference above): shuffling the rows gives the same
    statistics (tied times, censored and dead, handled as sets); a covariate constant in the
    data makes the information singular: NaN, no error; unknown transform, ties or mismatched
    lengths raise ValueError."""
    data, covariates, coef, _ = _zph_reference("veteran")
    beta = coef[coef["ties"] == "efron"].set_index("term").loc[covariates, "coef"]
    shuffled = data.sample(frac=1, random_state=7)
    np.testing.assert_allclose(
        ph_score_test(shuffled[covariates], shuffled["time"], shuffled["status"], beta)["test_statistic"],
        ph_score_test(data[covariates], data["time"], data["status"], beta)["test_statistic"], rtol=1e-10)
    constant = ph_score_test(data[["karno"]].assign(one=1.0), data["time"], data["status"], [-0.03, 0.0])
    assert constant["test_statistic"].isna().all()
    with pytest.raises(ValueError, match="transform"):
        ph_score_test(data[covariates], data["time"], data["status"], beta, transform="loglog")
    with pytest.raises(ValueError, match="ties"):
        ph_score_test(data[covariates], data["time"], data["status"], beta, ties="exact")
    with pytest.raises(ValueError, match="do not match"):
        ph_score_test(data[covariates], data["time"][:-1], data["status"], beta)


def test_cox_lung_sex_matches_r_summary():
    """R ``summary(coxph(Surv(time, status) ~ sex, data = lung))`` (Efron): coef -0.5310,
    se 0.1672, exp(coef) 0.588, 95% CI 0.4237-0.816, p 0.00149; lifelines codes status 1 = death."""
    table, info = cox_regression(load_lung(), "time", "status", ["sex"])
    row = table.loc["sex"]
    assert row["coef"] == pytest.approx(-0.5310, abs=5e-5)
    assert row["se"] == pytest.approx(0.1672, abs=5e-5)
    assert row["hazard_ratio"] == pytest.approx(0.588, abs=5e-4)
    assert row["ci_low"] == pytest.approx(0.4237, abs=5e-5)
    assert row["ci_high"] == pytest.approx(0.816, abs=5e-4)
    assert row["p_value"] == pytest.approx(0.00149, abs=5e-6)
    assert info["n_used"] == 228 and info["n_events"] == 165


def test_logrank_lung_matches_r_survdiff():
    """R ``survdiff(Surv(time, status) ~ sex, data = lung)``: "Chisq= 10.3 on 1 degrees of freedom,
    p= 0.00131" (p printed to 3 significant digits with digits = 3)."""
    result = logrank(load_lung(), "time", "status", "sex")
    assert result["statistic"] == pytest.approx(10.3, abs=0.05)
    assert result["p_value"] == pytest.approx(0.00131, abs=5e-6)
    assert result["df"] == 1 and result["groups"] == [1, 2] and result["reason"] is None


def test_logrank_needs_two_groups():
    """Hand-built: one group with data (the other level's rows lack the group) gives NaNs and a
    reason; rows without a group are left out and counted."""
    data = pd.DataFrame({"t": [5.0, 8, 12, 20], "e": [1, 0, 1, 1], "g": ["A", "A", None, None]})
    result = logrank(data, "t", "e", "g")
    assert np.isnan(result["statistic"]) and np.isnan(result["p_value"]) and np.isnan(result["df"])
    assert result["groups"] == ["A"] and result["n_dropped"] == 2
    assert "fewer than 2 groups" in result["reason"]


def test_cox_level_without_events_reports_problem():
    """Hand-built: no event among the 8 subjects of a dummy level (monotone likelihood, infinite HR
    in R ``coxph`` with its "coefficient may be infinite" warning): NaN row and a problem, the other
    covariate still estimated; nothing raised, no warning leaked."""
    rng = np.random.default_rng(3)
    data = pd.DataFrame({"t": rng.exponential(10, 40).round(1) + 0.1, "e": rng.integers(0, 2, 40),
                         "HISTOL[SARCOMATOID]": np.r_[np.ones(8), np.zeros(32)], "age": rng.normal(65, 8, 40)})
    data.loc[data["HISTOL[SARCOMATOID]"] == 1, "e"] = 0
    table, info = cox_regression(data, "t", "e", ["HISTOL[SARCOMATOID]", "age"])
    assert table.loc["HISTOL[SARCOMATOID]"].isna().all()
    assert np.isfinite(table.loc["age"]).all()
    assert "HISTOL[SARCOMATOID]" in info["problem"] and "infinite HR" in info["problem"]
    assert any("ConvergenceWarning" in w for w in info["warnings"])
    constant, info = cox_regression(data.assign(ALL=1.0), "t", "e", ["ALL"])
    assert constant.loc["ALL"].isna().all() and "no variation" in info["problem"]


# --- logistic regression -----------------------------------------------------------------------

def test_logistic_ml_matches_glm_binomial():
    """Second implementation: statsmodels ``GLM(family=Binomial())`` (IRLS) on the Spector & Mazzeo
    data (statsmodels ``spector``; IRLS run to tol 1e-12): same coefficients, SEs, Wald CIs, p-values."""
    data = sm.datasets.spector.load_pandas().data
    covariates = ["GPA", "TUCE", "PSI"]
    table, info = logistic_regression(data, "GRADE", covariates)
    glm = _glm(data, "GRADE", covariates)
    np.testing.assert_allclose(table["coef"], glm.params[covariates], rtol=1e-6)
    np.testing.assert_allclose(table["se"], glm.bse[covariates], rtol=1e-6)
    np.testing.assert_allclose(table["p_value"], glm.pvalues[covariates], rtol=1e-5)
    np.testing.assert_allclose(np.log(table[["ci_low", "ci_high"]]), glm.conf_int().loc[covariates], rtol=1e-6)
    np.testing.assert_allclose(table["odds_ratio"], np.exp(glm.params[covariates]), rtol=1e-6)
    assert info["method"] == "ml" and info["firth_reason"] is None and info["converged"]
    assert info["n_events"] == 11 and info["events_per_variable"] == pytest.approx(11 / 3)


def test_firth_endometrial_matches_published(endometrial):
    """Heinze & Schemper (2002) endometrial data: ML does not exist (NV separates), so "auto" uses
    Firth. Estimates and SEs: brglm2 README (brglm_fit, = logistf): NV 2.92927 (1.55076), PI
    -0.03475 (0.03958), EH -2.60416 (0.77602). Profile penalised-likelihood CIs: R logistf as
    recorded in firthlogist's tests: NV 0.6097244-7.85463171, PI -0.1244587-0.04045547,
    EH -4.3651832 to -1.23272106."""
    table, info = logistic_regression(endometrial, "HG", ["NV", "PI", "EH"])
    assert info["method"] == "firth" and info["firth_reason"] and info["converged"]
    assert info["ci_method"] == "profile penalized likelihood"
    np.testing.assert_allclose(table["coef"], [2.92927330, -0.03475175, -2.60416387], atol=1e-6)
    np.testing.assert_allclose(table["se"], [1.55076, 0.03958, 0.77602], atol=5e-6)
    ci = np.log(table[["ci_low", "ci_high"]]).to_numpy()
    np.testing.assert_allclose(ci, [[0.6097244, 7.85463171], [-0.1244587, 0.04045547],
                                    [-4.3651832, -1.23272106]], atol=1e-6)
    assert info["n_used"] == 79 and info["n_events"] == 30 and info["events_per_variable"] == 10


def test_ml_on_endometrial_is_flagged_as_separated(endometrial):
    """brglm2 README: ML "converges" falsely to NV 18.19 (SE 1715.75); method "ml" keeps ML but the
    separation is reported (no convergence / diverging NV)."""
    table, info = logistic_regression(endometrial, "HG", ["NV", "PI", "EH"], method="ml")
    assert info["method"] == "ml" and info["firth_reason"] is None
    assert info["problem"] and (not info["converged"] or "NV" in info["problem"])
    assert table.loc["NV", "coef"] > 10 or table.loc["NV", "se"] > 1e3


def test_firth_sex2_matches_logistf(sex2):
    """R ``logistf(case ~ age + oc + vic + vicl + vis + dia, data = sex2)``: coefficients and profile
    CIs as recorded in firthlogist's tests; penalised likelihood-ratio chi-squares and p-values as
    printed by easystats ``parameters`` (age 7.51, oc 0.02 p 0.875, vic 22.93, vicl 19.10,
    vis 3.70 p 0.054, dia 7.90 p 0.005). ``dia`` separates, so "auto" uses Firth."""
    covariates = ["age", "oc", "vic", "vicl", "vis", "dia"]
    table, info = logistic_regression(sex2, "case", covariates)
    assert info["method"] == "firth"
    np.testing.assert_allclose(table["coef"], [-1.10598131, -0.06881673, 2.26887464, -2.11140817,
                                               -0.78831694, 3.09601166], atol=1e-6)
    np.testing.assert_allclose(np.log(table[["ci_low", "ci_high"]]).to_numpy(),
                               [[-1.9737884, -0.30742514], [-0.9414363, 0.78920202], [1.2730216, 3.43543273],
                                [-3.2608611, -1.11773495], [-1.6080879, 0.01518468], [0.7745682, 8.03029352]],
                               atol=1e-6)
    np.testing.assert_allclose(chi2.isf(table["p_value"], 1), [7.51, 0.02, 22.93, 19.10, 3.70, 7.90], atol=0.005)
    assert table.loc["oc", "p_value"] == pytest.approx(0.875, abs=5e-4)
    assert table.loc["vis", "p_value"] == pytest.approx(0.054, abs=5e-4)


def test_firth_perfect_separation_2x2_is_haldane():
    """Hand-built 2 x 2 table with complete separation (5/0 vs 0/5): ML is infinite; Firth's
    estimate for one binary covariate is the log odds ratio with 1/2 added to each cell (Firth 1993;
    Heinze & Schemper 2002), OR = 5.5 * 5.5 / (0.5 * 0.5) = 121, with finite profile CI limits."""
    data = pd.DataFrame({"ORR": [0] * 5 + [1] * 5, "HISTOL[NON-EPITHELIOID]": [0] * 5 + [1] * 5})
    table, info = logistic_regression(data, "ORR", ["HISTOL[NON-EPITHELIOID]"])
    row = table.loc["HISTOL[NON-EPITHELIOID]"]
    assert row["odds_ratio"] == pytest.approx(121, rel=1e-6)
    assert np.isfinite(row[["ci_low", "ci_high", "se", "p_value"]]).all() and row["ci_low"] > 1
    assert info["method"] == "firth" and info["firth_reason"]
    assert info["events_per_variable"] == 5


def test_firth_separation_with_second_covariate():
    """Hand-built: the separating factor plus a continuous covariate still gives finite Firth ORs
    and CIs for both."""
    data = pd.DataFrame({"ORR": [0] * 5 + [1] * 5, "HISTOL[NON-EPITHELIOID]": [0] * 5 + [1] * 5,
                         "AGE": [60, 65, 70, 55, 72, 58, 66, 61, 69, 63]})
    table, info = logistic_regression(data, "ORR", ["HISTOL[NON-EPITHELIOID]", "AGE"])
    assert np.isfinite(table.to_numpy()).all()
    assert info["method"] == "firth" and info["firth_reason"] and info["converged"]


def test_missing_values_dropped_and_counted():
    """Hand-built: rows missing the outcome or a covariate are left out and counted; the estimates
    equal those of the complete-case data (statsmodels GLM on it)."""
    data = sm.datasets.spector.load_pandas().data.copy()
    data.loc[[0, 5], "GPA"] = np.nan
    data.loc[9, "GRADE"] = np.nan
    table, info = logistic_regression(data, "GRADE", ["GPA", "PSI"])
    assert (info["n_used"], info["n_dropped"]) == (29, 3)
    complete = data.dropna()
    glm = _glm(complete, "GRADE", ["GPA", "PSI"])
    np.testing.assert_allclose(table["coef"], glm.params[["GPA", "PSI"]], rtol=1e-6)
    lung = load_lung()
    _, cox_info = cox_regression(lung, "time", "status", ["sex", "ph.ecog"])
    assert cox_info["n_dropped"] == int(lung["ph.ecog"].isna().sum()) == 1


def test_logistic_constant_covariate_and_single_outcome():
    """Hand-built: a dummy without variation gets a NaN row and a problem; an outcome with one value
    gives all-NaN and a problem; neither raises."""
    data = pd.DataFrame({"ORR": [0, 1, 0, 1, 1, 0], "X": [1.0, 2, 3, 4, 5, 2], "Z": [0.0] * 6})
    table, info = logistic_regression(data, "ORR", ["X", "Z"])
    assert table.loc["Z"].isna().all() and np.isfinite(table.loc["X"]).all()
    assert "no variation" in info["problem"]
    table, info = logistic_regression(data.assign(ORR=0), "ORR", ["X"])
    assert table.isna().all().all() and "single value" in info["problem"]
    with pytest.raises(ValueError, match="0/1"):
        logistic_regression(data.assign(ORR=2), "ORR", ["X"])
