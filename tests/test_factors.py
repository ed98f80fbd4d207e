"""Influencing factors: factor coding, subgroup rates and the models run per factor.

References: hand-coded factor levels and dummies; subgroup counts against a plain groupby and
Clopper-Pearson CIs against statsmodels; univariable models against direct calls of the model
functions (tested against published values in test_models.py); Kaplan-Meier curves by level
against stats.km_table (matched to R survfit in test_stats.py); notes, test counts and level
order against hand-built inputs counted by hand; comparison labels ("B vs A", "per 10 years")
against hand-written expectations; the locked-run rule against locks written by mpmlib.lock
itself in a temporary folder; confidence labels against 100 (1 - alpha) worked by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from mpmlib.analysis import factors
from mpmlib.pages import factors as factors_page

SPECS = [
    {"var": "HISTOL", "label": "Histology", "kind": "categorical", "reference": "Epithelioid",
     "map": {"EPITHELIOID": "Epithelioid", "BIPHASIC": "Non-epithelioid", "SARCOMATOID": "Non-epithelioid"}},
    {"var": "ECOGBL", "label": "ECOG", "kind": "categorical", "reference": "0"},
    {"var": "AGE", "label": "Age", "kind": "continuous", "unit": 10, "cuts": [65]},
]


@pytest.fixture()
def adsl():
    return pd.DataFrame({
        "USUBJID": [f"S{i}" for i in range(8)],
        "HISTOL": ["EPITHELIOID", "BIPHASIC", "SARCOMATOID", "EPITHELIOID", None, "EPITHELIOID", "BIPHASIC", "EPITHELIOID"],
        "ECOGBL": [0, 1, 1, 0, 0, 1, 0, 1],
        "AGE": [50, 64.9, 65, 80, 70, np.nan, 60, 66],
    })


def test_factor_frame_pools_levels_cuts_and_keeps_missing(adsl):
    frame = factors.factor_frame(adsl, SPECS)
    assert list(frame["HISTOL@cat"].cat.categories) == ["Epithelioid", "Non-epithelioid", "Missing"]
    assert frame["HISTOL@cat"].tolist()[:5] == ["Epithelioid", "Non-epithelioid", "Non-epithelioid", "Epithelioid", "Missing"]
    assert frame["ECOGBL@cat"].astype(str).tolist() == ["0", "1", "1", "0", "0", "1", "0", "1"]
    assert frame["AGE@cat"].astype(str).tolist() == ["<65", "<65", ">=65", ">=65", ">=65", "Missing", "<65", ">=65"]
    assert frame["AGE@num"].tolist()[:2] == [5.0, 6.49]


def test_design_dummies_against_the_reference(adsl):
    frame = factors.factor_frame(adsl, SPECS)
    x = factors.design(frame, SPECS[0], continuous=False)
    assert list(x.columns) == ["HISTOL[Non-epithelioid]"]
    assert x.iloc[:, 0].tolist()[:5] == [0, 1, 1, 0, None] or np.isnan(x.iloc[4, 0])
    assert list(factors.design(frame, SPECS[2], continuous=True).columns) == ["AGE (per 10)"]


def test_subgroup_rates_equal_plain_counts_and_exact_cis(adsl):
    frame = factors.factor_frame(adsl, SPECS)
    outcome = pd.Series([1, 0, 0, 1, 1, 0, 1, 0])
    rates = factors.subgroup_rates(frame, outcome, SPECS)
    plain = outcome.groupby(frame["HISTOL@cat"].astype(str)).agg(["size", "sum"])
    got = rates[rates["factor"].eq("Histology")].set_index("level")
    for level, row in plain.iterrows():
        assert (got.loc[level, "n"], got.loc[level, "events"]) == (row["size"], row["sum"])
        low, high = proportion_confint(row["sum"], row["size"], method="beta")
        assert got.loc[level, "ci_low"] == pytest.approx(low) and got.loc[level, "ci_high"] == pytest.approx(high)
    assert rates.iloc[0][["n", "events"]].tolist() == [8, 4]
    # every subject counted once per factor
    assert rates.groupby("factor")["n"].sum().drop("All subjects").eq(8).all()


def test_univariable_logistic_equals_a_direct_model_call(adsl):
    from mpmlib.analysis import models

    big = pd.concat([adsl] * 5, ignore_index=True).assign(USUBJID=lambda d: [f"S{i}" for i in range(len(d))])
    rng = np.random.default_rng(3)
    outcome = pd.Series(rng.integers(0, 2, len(big)))
    frame = factors.factor_frame(big, SPECS)
    uni = factors.univariable_logistic(frame, outcome, SPECS)
    age = uni[uni["factor"].eq("Age") & uni["analysis"].str.startswith("continuous")].iloc[0]
    direct, _ = models.logistic_regression(pd.DataFrame({"AGE (per 10)": big["AGE"] / 10, "_y": outcome}), "_y",
                                           ["AGE (per 10)"])
    assert age["estimate"] == pytest.approx(direct.loc["AGE (per 10)", "odds_ratio"])
    assert set(uni["factor"]) == {"Histology", "ECOG", "Age"}
    assert len(uni[uni["factor"].eq("Age")]) == 2          # continuous and at the cut-point


def test_forest_plot_draws_each_estimate_with_its_interval():
    import matplotlib.pyplot as plt

    from mpmlib.plots import factors as plots_factors

    rows = pd.DataFrame({"label": ["Histology", "  Non-epithelioid", "Age"], "estimate": [np.nan, 0.5, 2.0],
                         "ci_low": [np.nan, 0.1, 1.2], "ci_high": [np.nan, 2.5, 3.0], "right": ["", "0.5", "2"],
                         "header": [True, False, False]})
    fig = plots_factors.forest_plot(rows, xlabel="Odds ratio")
    ax = fig.axes[0]
    points = [line for line in ax.lines if line.get_marker() == "s"]
    assert [p.get_xdata()[0] for p in points] == [0.5, 2.0]
    intervals = [line.get_xdata() for line in ax.lines if line.get_marker() in ("None", "", None) and len(line.get_xdata()) == 2
                 and line.get_ydata()[0] == line.get_ydata()[1]]
    assert [list(i) for i in intervals][:2] == [[0.1, 2.5], [1.2, 3.0]]
    assert ax.get_xscale() == "log" and [t.get_text() for t in ax.get_yticklabels()][0] == "Histology"
    plt.close(fig)


def test_multivariable_and_logrank_equal_direct_calls(adsl):
    """The factor wrappers add nothing to the numbers: multivariable Cox equals lifelines on the
    same design, the log-rank test equals lifelines' multivariate_logrank_test."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import multivariate_logrank_test

    big = pd.concat([adsl] * 6, ignore_index=True).assign(USUBJID=lambda d: [f"S{i}" for i in range(len(d))])
    rng = np.random.default_rng(11)
    tte = pd.DataFrame({"AVAL": rng.exponential(200, len(big)).round() + 1, "EVENT": rng.integers(0, 2, len(big))})
    frame = factors.factor_frame(big, SPECS)
    table, info = factors.multivariable(frame, SPECS, ["AGE", "ECOGBL"], tte=tte)
    design = pd.DataFrame({"AGE (per 10)": big["AGE"] / 10, "ECOGBL[1]": big["ECOGBL"].astype(float),
                           "T": tte["AVAL"], "E": tte["EVENT"]}).dropna()
    direct = CoxPHFitter().fit(design, "T", "E")
    assert table.loc["AGE (per 10)", "hazard_ratio"] == pytest.approx(np.exp(direct.params_["AGE (per 10)"]), rel=1e-6)
    assert info["n_used"] == len(design)
    lr = factors.logrank_by_factor(frame, tte, SPECS).set_index("factor").loc["ECOG"]
    ref = multivariate_logrank_test(tte["AVAL"], big["ECOGBL"].astype(str), tte["EVENT"])
    assert lr["chi_square"] == pytest.approx(ref.test_statistic) and lr["p_value"] == pytest.approx(ref.p_value)


def test_logrank_lists_levels_in_category_order(adsl):
    """Reference first, as the factor frame orders them (not alphabetical): hand-coded."""
    specs = [{**SPECS[0], "reference": "Non-epithelioid"}]
    tte = pd.DataFrame({"AVAL": np.arange(1, 9) * 30.0, "EVENT": [1, 0, 1, 1, 0, 1, 1, 0]})
    frame = factors.factor_frame(adsl, specs)
    assert factors.logrank_by_factor(frame, tte, specs)["levels"].tolist() == ["Non-epithelioid, Epithelioid"]


def test_model_notes_join_firth_reason_problem_and_ph():
    """Hand-built model info: no note hides another (the old rule showed only the first)."""
    info = {"firth_reason": "fitted probabilities numerically 0 or 1", "problem": "no variation: X",
            "ph_violated": ["ECOGBL[1]"]}
    assert factors.model_notes(info, "ECOGBL[1]") == ("Firth: fitted probabilities numerically 0 or 1; "
                                                      "no variation: X; PH assumption doubtful")
    assert factors.model_notes(info, "AGE (per 10)") == "Firth: fitted probabilities numerically 0 or 1; no variation: X"
    assert factors.model_notes({"ph_violated": ["A"]}) == "PH assumption doubtful"
    assert factors.model_notes({}) == ""


def test_multivariable_rows_carry_firth_problem_ph_and_dropped(adsl):
    """Hand-built coefficient table and info: every note, the PH p-value and n left out appear,
    and each row names its comparison against the reference level (hand-written)."""
    table = pd.DataFrame({"hazard_ratio": [2.0, np.nan], "ci_low": [1.1, np.nan], "ci_high": [3.6, np.nan],
                          "p_value": [0.02, np.nan]}, index=["ECOGBL[1]", "HISTOL[Non-epithelioid]"])
    info = {"method": "Cox (Efron ties)", "n_used": 30, "n_dropped": 4, "n_events": 20,
            "problem": "diverging estimate: HISTOL[Non-epithelioid]", "ph_violated": ["ECOGBL[1]"],
            "ph_test": pd.DataFrame({"test_statistic": [5.0, 0.1], "p_value": [0.025, 0.75]}, index=table.index),
            "events_per_variable": 10.0}
    rows = factors.multivariable_rows(factors.factor_frame(adsl, SPECS), SPECS, table, info, "hazard_ratio")
    assert rows["factor"].tolist() == ["ECOG", "Histology"]
    assert rows["term"].tolist() == ["1 vs 0", "Non-epithelioid vs Epithelioid"]
    assert rows["reference"].tolist() == ["0", "Epithelioid"]
    assert rows["note"].tolist() == ["diverging estimate: HISTOL[Non-epithelioid]; PH assumption doubtful",
                                     "diverging estimate: HISTOL[Non-epithelioid]"]
    assert rows["ph_p_value"].tolist()[0] == 0.025 and np.isnan(rows["ph_p_value"].tolist()[1])
    assert rows["n_dropped"].tolist() == [4, 4]
    shown = factors.ratios_display(rows, "Hazard ratio")
    assert shown["PH test p"].tolist() == ["0.025", "-"]
    note = factors.epv_note(info)
    assert "30 subjects (4 left out" in note and "diverging estimate" in note


def test_firth_reason_reaches_the_multivariable_output(adsl):
    """No responder among non-epithelioid subjects separates the outcome: Firth is used (as in
    test_models.py against logistf) and its reason is in the rows and the EPV note."""
    big = pd.concat([adsl] * 5, ignore_index=True).assign(USUBJID=lambda d: [f"S{i}" for i in range(len(d))])
    frame = factors.factor_frame(big, SPECS)
    rng = np.random.default_rng(5)
    outcome = pd.Series(np.where(frame["HISTOL@cat"].eq("Epithelioid"), rng.integers(0, 2, len(big)), 0))
    table, info = factors.multivariable(frame, SPECS, ["HISTOL", "ECOGBL"], outcome=outcome)
    rows = factors.multivariable_rows(frame, SPECS, table, info, "odds_ratio")
    assert info["method"] == "firth" and rows["note"].str.startswith("Firth: ").all()
    assert "Firth: " in factors.epv_note(info)
    assert factors.firth_footnote(rows).startswith("F = Firth")
    assert factors.firth_footnote(rows.assign(method="ml")) is None


def test_count_tests_counts_every_finite_p_value_by_family():
    """Counted by hand: NaN p-values are not tests; PH checks form their own family."""
    uni = pd.DataFrame({"p_value": [0.2, np.nan, 0.01], "ph_p_value": [0.5, np.nan, 0.03]})
    multi = pd.DataFrame({"p_value": [0.4, 0.6], "ph_p_value": [np.nan, 0.9]})
    logit = pd.DataFrame({"p_value": [0.3, np.nan], "ph_p_value": [np.nan, np.nan]})
    lr = pd.DataFrame({"p_value": [0.04, np.nan, 0.7]})
    counts = factors.count_tests([("Logistic, univariable", logit), ("Cox, univariable", uni),
                                  ("Cox, multivariable", multi), ("Log-rank", lr), ("Cox, univariable", uni)])
    assert counts["Tests"].to_dict() == {"Logistic, univariable": 1, "Proportional-hazards check": 5,
                                         "Cox, univariable": 4, "Cox, multivariable": 2, "Log-rank": 2, "Total": 14}
    assert counts.index[-2:].tolist() == ["Proportional-hazards check", "Total"]


def test_km_by_factor_equals_km_tables_per_level(adsl):
    """Each level's curve is stats.km_table on that level's subjects (km_table is matched to R
    survfit in test_stats.py); every subject is in one curve, Missing included."""
    from mpmlib.plots import factors as plots_factors
    from mpmlib.analysis import stats

    tte = pd.DataFrame({"AVAL": [30.0, 60, 90, 120, 150, 180, 210, 240], "EVENT": [1, 0, 1, 1, 0, 1, 1, 0]})
    frame = factors.factor_frame(adsl, SPECS)
    curves = factors.km_by_factor(frame, tte, SPECS)
    assert list(curves["Histology"]) == ["Epithelioid (n=4)", "Non-epithelioid (n=3)", "Missing (n=1)"]
    assert list(curves["Age"]) == ["<65 (n=3)", ">=65 (n=4)", "Missing (n=1)"]
    epi = frame["HISTOL@cat"].eq("Epithelioid")
    ref = stats.km_table(tte.loc[epi, "AVAL"], tte.loc[epi, "EVENT"])
    pd.testing.assert_frame_equal(curves["Histology"]["Epithelioid (n=4)"].reset_index(drop=True),
                                  ref.reset_index(drop=True))
    fig = plots_factors.km_grid(curves)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["Histology", "ECOG", "Age"]
    steps = [line for line in panels[0].lines if line.get_gid() != "censor"]
    assert list(steps[0].get_ydata()) == [1.0, *ref["survival"]]
    import matplotlib.pyplot as plt
    plt.close(fig)
    fig = plots_factors.km_grid(curves, xlabel="Months since randomisation")   # the run's time origin
    assert {ax.get_xlabel() for ax in fig.axes if ax.get_xlabel()} == {"Months since randomisation"}
    plt.close(fig)


def test_forest_plot_footnote_is_printed():
    import matplotlib.pyplot as plt

    from mpmlib.plots import factors as plots_factors

    rows = pd.DataFrame({"label": ["A"], "estimate": [2.0], "ci_low": [1.0], "ci_high": [4.0], "right": ["2 F"]})
    fig = plots_factors.forest_plot(rows, xlabel="Odds ratio", footnote="F = Firth")
    assert [t.get_text() for t in fig.texts if t.get_gid() == "footnote"] == ["F = Firth"]
    plt.close(fig)


def test_continuous_factor_without_cut_points_has_no_subgroups(adsl):
    """A continuous factor without cut-points is analysed per unit only: it must not appear as
    one "Missing" subgroup holding every subject in the rates, the log-rank tests or the KM
    panels; a factor with levels coded as numbers lists them in the log-rank output."""
    adsl = adsl.assign(AGEY=adsl["AGE"])
    specs = SPECS + [{"var": "AGEY", "label": "Age, per year", "kind": "continuous", "unit": 1},
                     {"var": "ECOGBL", "label": "ECOG coded", "kind": "categorical", "reference": "0",
                      "map": {"0": 0, "1": 1}}]
    frame = factors.factor_frame(adsl, specs[:-1])
    assert not factors.has_levels(frame, specs[-2]) and factors.has_levels(frame, SPECS[2])
    rates = factors.subgroup_rates(frame, pd.Series([1, 0, 1, 0, 1, 0, 1, 0.0]), specs[:-1])
    assert "Age, per year" not in rates["factor"].tolist()
    tte = pd.DataFrame({"AVAL": [30.0, 60, 90, 120, 150, 180, 210, 240], "EVENT": [1, 0, 1, 1, 0, 1, 1, 0]})
    assert "Age, per year" not in factors.km_by_factor(frame, tte, specs[:-1])
    assert "Age, per year" not in factors.logrank_by_factor(frame, tte, specs[:-1])["factor"].tolist()
    coded = factors.factor_frame(adsl, specs[-1:])
    row = factors.logrank_by_factor(coded, tte, specs[-1:]).iloc[0]
    assert row["levels"] == "0, 1"


def test_no_fitted_model_gives_an_empty_forest_not_an_error():
    """With nothing estimable (e.g. one subject), the univariable table is empty: the forest rows
    are empty and the plot says there is nothing to show."""
    from mpmlib.plots import factors as plots_factors

    rows = factors.ratio_forest_rows(pd.DataFrame())
    assert rows.empty and {"label", "estimate", "ci_low", "ci_high"} <= set(rows.columns)
    fig = plots_factors.forest_plot(rows, xlabel="Odds ratio")
    assert any(t.get_text() == plots_factors.NO_DATA for ax in fig.axes for t in ax.texts)
    import matplotlib.pyplot as plt
    plt.close(fig)


# ---- issue 13: reference levels, confidence labels, page text ---------------------------------

LABELLED = [
    {**SPECS[0]},
    {"var": "ECOGBL", "label": "ECOG", "kind": "categorical", "reference": "0"},
    {"var": "AGE", "label": "Age (years)", "kind": "continuous", "unit": 10, "cuts": [65]},
]


def _big(adsl, times=5):
    return pd.concat([adsl] * times, ignore_index=True).assign(USUBJID=lambda d: [f"S{i}" for i in range(len(d))])


def test_every_ratio_row_names_its_comparison_and_reference(adsl):
    """Every odds- and hazard-ratio row, univariable and multivariable, in the tables and the
    forest plot, says what it compares. Expected labels written by hand from the specs: the level
    vs the reference level, the higher category vs the lowest, one unit step of "Age (years)"."""
    big = _big(adsl, 6)
    rng = np.random.default_rng(7)
    outcome = pd.Series(rng.integers(0, 2, len(big)))
    tte = pd.DataFrame({"AVAL": rng.exponential(200, len(big)).round() + 1, "EVENT": rng.integers(0, 2, len(big))})
    frame = factors.factor_frame(big, LABELLED)
    expected = ["Non-epithelioid vs Epithelioid", "1 vs 0", "per 10 years", ">=65 vs <65"]
    for uni in (factors.univariable_logistic(frame, outcome, LABELLED), factors.univariable_cox(frame, tte, LABELLED)):
        assert uni["term"].tolist() == expected
        assert uni["reference"].tolist() == ["Epithelioid", "0", "", "<65"]
        assert factors.ratios_display(uni, "Ratio").index.get_level_values("Comparison").tolist() == expected
        forest = factors.ratio_forest_rows(uni)
        assert forest.loc[~forest["header"], "label"].str.strip().tolist() == expected
    table, info = factors.multivariable(frame, LABELLED, ["HISTOL", "ECOGBL", "AGE"], tte=tte)
    multi = factors.multivariable_rows(frame, LABELLED, table, info, "hazard_ratio")
    assert multi["term"].tolist() == ["Non-epithelioid vs Epithelioid", "1 vs 0", "per 10 years"]


def test_text_reference_finds_levels_coded_as_numbers(adsl):
    """ECOG stored as numbers (0.0, 1.0) with reference "0"; the same codes mapped to numbers
    ({"0": 0, "1": 1}); YAML integer map keys ({0: "ECOG 0", 1: "ECOG 1-2"}) with the reference
    given as the data value 0; RACE text with reference "WHITE" (the pilot's) and "white".
    Expected reference (first level) written by hand."""
    data = adsl.assign(ECOGBL=adsl["ECOGBL"].astype(float),
                       RACE=["BLACK OR AFRICAN AMERICAN", "WHITE", "WHITE", "AMERICAN INDIAN OR ALASKA NATIVE",
                             "WHITE", "BLACK OR AFRICAN AMERICAN", "WHITE", "WHITE"])
    cases = [({"var": "ECOGBL", "label": "ECOG", "kind": "categorical", "reference": "0"}, ["0", "1"]),
             ({"var": "ECOGBL", "label": "ECOG", "kind": "categorical", "reference": "0", "map": {"0": 0, "1": 1}},
              ["0", "1"]),
             ({"var": "ECOGBL", "label": "ECOG", "kind": "categorical", "reference": 1}, ["1", "0"]),
             ({"var": "ECOGBL", "label": "ECOG", "kind": "categorical", "reference": 0,
               "map": {0: "ECOG 0", 1: "ECOG 1-2"}}, ["ECOG 0", "ECOG 1-2"]),
             ({"var": "RACE", "label": "Race", "kind": "categorical", "reference": "WHITE"},
              ["WHITE", "AMERICAN INDIAN OR ALASKA NATIVE", "BLACK OR AFRICAN AMERICAN"]),
             ({"var": "RACE", "label": "Race", "kind": "categorical", "reference": "white"},
              ["WHITE", "AMERICAN INDIAN OR ALASKA NATIVE", "BLACK OR AFRICAN AMERICAN"]),
             ({**SPECS[0], "reference": "EPITHELIOID"}, ["Epithelioid", "Non-epithelioid", "Missing"])]
    for spec, levels in cases:
        frame = factors.factor_frame(data, [spec])
        assert list(frame[f"{spec['var']}@cat"].cat.categories) == levels, spec
        terms = factors.comparisons(frame, [spec])
        assert [t["comparison"] for t in terms.values()] == [f"{lv} vs {levels[0]}" for lv in levels[1:]
                                                             if lv != "Missing"]
    assert factors.factor_frame(data, cases[1][:1])["ECOGBL@cat"].astype(str).tolist() == \
        ["0", "1", "1", "0", "0", "1", "0", "1"]


def test_reference_not_in_the_data_is_a_clear_error(adsl):
    """A reference that is no level: DataError naming the variable, the factor and the levels."""
    from mpmlib.errors import DataError

    spec = {"var": "ECOGBL", "label": "ECOG performance status", "kind": "categorical", "reference": "2"}
    with pytest.raises(DataError) as caught:
        factors.factor_frame(adsl, [spec])
    message = str(caught.value)
    assert message.startswith("ADSL.ECOGBL: factor reference level not found")
    assert "'ECOG performance status'" in message and "levels available: 0, 1" in message


def test_alpha_sets_every_confidence_label_and_interval(adsl):
    """alpha = 0.1: "90% CI" on rates, odds ratios and the forest plots, and the intervals are
    the 90% ones (Clopper-Pearson from statsmodels proportion_confint(alpha=0.1); Wald from a
    direct statsmodels Logit conf_int(0.1)). 100 (1 - alpha) by hand: 0.05 -> 95, 0.025 -> 97.5."""
    import matplotlib.pyplot as plt
    import statsmodels.api as sm

    from mpmlib.plots import factors as plots_factors

    assert [factors.ci_label(a) for a in (0.05, 0.1, 0.025)] == ["95% CI", "90% CI", "97.5% CI"]
    big = _big(adsl)
    outcome = pd.Series(np.random.default_rng(3).integers(0, 2, len(big)))
    frame = factors.factor_frame(big, LABELLED)
    rates = factors.subgroup_rates(frame, outcome, LABELLED, alpha=0.1)
    assert "Rate, % [90% CI]" in factors.rates_display(rates).columns
    low, high = proportion_confint(outcome.sum(), len(outcome), alpha=0.1, method="beta")
    assert rates.iloc[0][["ci_low", "ci_high"]].tolist() == pytest.approx([low, high])
    uni = factors.univariable_logistic(frame, outcome, LABELLED, alpha=0.1)
    assert "Odds ratio [90% CI]" in factors.ratios_display(uni, "Odds ratio").columns
    age = uni[uni["term"].eq("per 10 years")].iloc[0]
    direct = sm.Logit(outcome, sm.add_constant(big["AGE"] / 10), missing="drop").fit(disp=0).conf_int(0.1).iloc[1]
    assert [age["ci_low"], age["ci_high"]] == pytest.approx(np.exp(direct.to_numpy()), rel=1e-6)
    for fig, wanted in ((plots_factors.ratio_forest(uni, "OR", "Odds ratio"), "OR (90% CI)"),
                        (plots_factors.rate_forest(rates, "Response"), None)):
        texts = [t.get_text() for t in fig.axes[0].texts] + [fig.axes[0].get_xlabel()]
        assert (wanted in texts) if wanted else texts[-1].endswith("with 90% CI")
        assert not any("95%" in t for t in texts)
        plt.close(fig)
    assert "At a 10% level, about 1.0 would be expected to reach p < 0.1" in factors.chance_text(10, 0.1)


def test_question_text_from_parameters_or_generic(adsl):
    """factors_question null (the public-data parameter files): a generic sentence naming the
    endpoints analysed, no treatment named; set (the demo's): the question, escaped for Markdown,
    read as the endpoints. Endpoints only those analysed (no RS: OS only). Expected text by hand."""
    from mpmlib.settings.load import load_params
    from mpmlib.tables.format import md_text

    eff = {"confirmation_days": 28, "sd_min_days": 42, "evaluator": "INVESTIGATOR"}
    all_endpoints = factors.endpoint_definitions(eff, True, ["PFS", "OS"])
    assert all_endpoints[0].startswith("confirmed objective response (best overall response CR or PR by RECIST 1.1")
    assert "at least 28 days later" in all_endpoints[0] and "SD at least 42 days after first dose" in all_endpoints[1]
    assert all_endpoints[2:] == ["progression-free survival (PFS)", "overall survival (OS)"]
    os_only = factors.endpoint_definitions(eff, False, ["OS"])
    assert os_only == ["overall survival (OS)"]
    for name in ("cdiscpilot01", "pharmaverse-onco"):
        question = load_params(f"params/{name}.yaml")["study"]["factors_question"]
        text = factors.question_text(question, os_only)
        assert text == "This page explores which baseline factors go with the endpoints analysed: overall survival (OS)."
    demo = load_params("params/demo.yaml")["study"]["factors_question"]
    assert factors.question_text(demo, all_endpoints).startswith(
        "Which baseline factors go with reversing resistance to PD-1 inhibitors when H101 is added? Here this is "
        "read as: confirmed objective response")
    assert factors.question_text("<b>Which_factors</b>?", os_only) == (
        f"{md_text('<b>Which_factors</b>')}? Here this is read as: overall survival (OS).")


def test_attribution_caveat_is_trial_agnostic(adsl):
    """One arm: the single-arm caveat; several arms (as the CDISC pilot): the arms are pooled and
    not compared, each named. No text names a study drug (checked against "H101" / "PD-1")."""
    one = factors.attribution_caveat(factors.n_arms(adsl.assign(TRT01A="Drug A")))
    assert one.startswith("With a single arm and no control group, an association cannot be attributed to the "
                          "study treatment")
    three = factors.attribution_caveat(factors.n_arms(adsl.assign(TRT01A=["Placebo", "High", "Low", "High"] * 2)))
    assert three.startswith("The subjects of all 3 arms (High, Low, Placebo) are analysed together")
    assert not any(w in one + three for w in ("H101", "PD-1"))


def _run_params(tmp_path, text: str = "USUBJID\nS1\n"):
    from mpmlib.settings.load import load_params

    (tmp_path / "sdtm").mkdir(exist_ok=True)
    (tmp_path / "sdtm" / "dm.csv").write_text(text)
    (tmp_path / "run.yaml").write_text(f"sdtm:\n  dir: {tmp_path / 'sdtm'}\n")
    return load_params(tmp_path / "run.yaml")


def test_no_factor_chosen_after_the_data_only_for_a_locked_factor_list(tmp_path):
    """The sentence needs a locked run (mpmlib.lock: a lock beside the parameter file, nothing
    differing) whose locked parameters hold this factor list: written with mpmlib.lock.write_lock
    in tmp_path; no lock, a changed factor list or changed input data give the exploratory text."""
    import copy

    from mpmlib import lock

    params = _run_params(tmp_path)
    assert factors_page.locked_factor_list(params) is None
    exploratory = factors_page.factor_list_text(None)
    assert "exploratory (not locked)" in exploratory and "No factor was chosen" not in exploratory
    lock.write_lock(params)
    found = factors_page.locked_factor_list(params)
    assert found is not None and found == lock.read_lock(params)
    text = factors_page.factor_list_text(found)
    assert "No factor was chosen after looking at the data" in text and found["locked_on"] in text
    changed = copy.deepcopy(params)
    changed["factors"]["multivariable"] = ["AGE"]
    assert factors_page.locked_factor_list(changed) is None
    _run_params(tmp_path, "USUBJID\nS2\n")                         # input changed since the lock
    assert factors_page.locked_factor_list(params) is None


def test_ph_method_named_from_the_cox_fit(adsl):
    """The page names the PH test the Cox fit reports (info["ph_method"], models.PH_TEST_METHOD),
    escaped for Markdown; logistic rows carry none."""
    from mpmlib.analysis import models
    from mpmlib.tables.format import md_text

    big = _big(adsl, 6)
    rng = np.random.default_rng(11)
    tte = pd.DataFrame({"AVAL": rng.exponential(200, len(big)).round() + 1, "EVENT": rng.integers(0, 2, len(big))})
    uni = factors.univariable_cox(factors.factor_frame(big, LABELLED), tte, LABELLED)
    assert factors.ph_method_text(uni) == f"Proportional-hazards check: {md_text(models.PH_TEST_METHOD)}."
    assert factors.ph_method_text(pd.DataFrame({"ph_method": [None]})) == ""


def test_unit_text_and_lab_notes():
    """Unit steps from the label's parenthesis (hand-written); a laboratory factor's note names
    its LB tests from adsl.lab_baseline and the published source of its cut-point."""
    from mpmlib.settings.load import DEFAULTS

    assert factors.unit_text({"label": "Age (years)", "unit": 10}) == "per 10 years"
    assert factors.unit_text({"label": "PD-L1 TPS (%)", "unit": 10}) == "per 10 percentage points"
    assert factors.unit_text({"label": "Prior lines", "unit": 1}) == "per 1-unit increase"
    nlr = {"var": "NLRBL", "label": "Neutrophil-to-lymphocyte ratio", "kind": "continuous", "unit": 1, "cuts": [5]}
    notes = factors.lab_factor_notes([nlr, LABELLED[2]], DEFAULTS["adsl"]["lab_baseline"])
    assert len(notes) == 1 and "NEUT / LYM of the same sample" in notes[0]
    assert "cut-point(s) 5 (Kao et al., Clin Cancer Res 2010;16:5805-13)" in notes[0]


def test_notebook_is_generic_and_its_cells_are_short():
    """Notebook 50: no trial-specific words ("H101", "PD-1") in its own text (they may only come
    from the parameter file), CIs not written as "95%", and no code cell over 15 lines."""
    import json
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parent.parent / "notebooks"
    source = (root / "50_influencing_factors.py").read_text()
    assert not re.search(r"H101|PD-1\b|95 ?%", source.split('tags=["parameters"]')[1])
    assert not re.search(r"H101|PD-1\b", source.split('tags=["parameters"]')[0])
    cells = json.loads((root / "50_influencing_factors.ipynb").read_text())["cells"]
    assert max(len(c["source"]) for c in cells if c["cell_type"] == "code") <= 15
    assert all(not c.get("outputs") for c in cells if c["cell_type"] == "code")
