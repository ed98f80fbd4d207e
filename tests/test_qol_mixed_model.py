"""The QoL mixed model of change from baseline (``qol_analysis.mixed_model``) against a second
implementation: statsmodels MixedLM with the formula the analysis states
(CHG ~ C(visit) + centred baseline, random intercept per subject, REML)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mpmlib.analysis import qol as qol_analysis


def unbalanced_adqs(seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(45):
        base, u = rng.uniform(30, 90), rng.normal(0, 6)
        for week, effect in ((6, -3.0), (12, 1.0), (18, 4.0), (24, 2.0)):
            if rng.uniform() < 0.25:          # missed questionnaires: an unbalanced design
                continue
            chg = effect - 0.2 * (base - 60) + u + rng.normal(0, 5)
            rows.append({"USUBJID": f"S{i:02d}", "PARAMCD": "QL2", "AVISIT": f"WEEK {week}", "AVISITN": week,
                         "BASE": base, "CHG": chg})
    return pd.DataFrame(rows)


def test_mixed_model_matches_statsmodels_mixedlm_on_unbalanced_visits():
    import statsmodels.formula.api as smf

    data = unbalanced_adqs()
    estimates, info = qol_analysis.mixed_model(data, "QL2", min_n=5)
    d = data.assign(BASEC=data["BASE"] - data["BASE"].mean(), VISIT=data["AVISITN"].astype(int))
    ref = smf.mixedlm("CHG ~ C(VISIT) + BASEC", d, groups=d["USUBJID"]).fit(reml=True)
    names = ref.fe_params.index
    expected, se = [], []
    for week in (6, 12, 18, 24):
        contrast = pd.Series(0.0, index=names)
        contrast["Intercept"] = 1.0
        if f"C(VISIT)[T.{week}]" in names:
            contrast[f"C(VISIT)[T.{week}]"] = 1.0
        expected.append(float(contrast @ ref.fe_params))
        cov = ref.cov_params().loc[names, names]
        se.append(float(np.sqrt(contrast @ cov @ contrast)))
    assert info["converged"] and info["n_obs"] == len(data)
    np.testing.assert_allclose(estimates["estimate"], expected, atol=1e-5)
    assert info["group_variance"] == pytest.approx(float(ref.cov_re.iloc[0, 0]), rel=1e-4)
    assert info["residual_variance"] == pytest.approx(float(ref.scale), rel=1e-5)
    assert info["baseline_coefficient"] == pytest.approx(float(ref.fe_params["BASEC"]), abs=1e-6)
    half_width = (estimates["ci_high"] - estimates["ci_low"]) / 2 / 1.959963984540054
    np.testing.assert_allclose(half_width, se, rtol=0.02)   # model-based vs observed-Hessian SE
    assert estimates["n"].tolist() == data.groupby("AVISITN").size().tolist()


def test_qol_population_is_flagged_and_treated_in_every_denominator():
    """The QoL denominators (compliance, subjects without baseline) count population subjects who
    were treated: a flagged subject without a first dose is in neither."""
    adsl = pd.DataFrame({"USUBJID": ["A", "B", "C"], "SAFFL": ["Y", "Y", "N"],
                         "TRTSDT": [pd.Timestamp("2025-01-01"), pd.NaT, pd.Timestamp("2025-01-01")]})
    adqs = pd.DataFrame({"USUBJID": [], "ABLFL": []})
    assert qol_analysis.treated_subjects(adsl)["USUBJID"].tolist() == ["A"]
    assert qol_analysis.without_baseline(adsl, adqs).tolist() == ["A"]
