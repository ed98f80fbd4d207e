"""ADQS and the quality-of-life analyses.

References: the EORTC QLQ-C30 scoring (tested in test_qol_scoring.py) applied through SDTM QS
(a questionnaire built by hand equals score_qlq_c30 on the same answers); visit windows and
baseline rules worked out by hand; the mixed model against a second implementation (with a
balanced design and a subject-level covariate, generalised least squares under compound symmetry
equals ordinary least squares for the fixed effects, so statsmodels OLS gives the same visit
estimates); the t-based CI against scipy; compliance, partial-date flags and time to deterioration
counted by hand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from mpmlib.analysis import qol as qol_analysis
from mpmlib.pages import qol as qol_page
from mpmlib.derive.adqs import derive_adqs, missed_questionnaires
from mpmlib.derive.qol_scoring import score_qlq_c30

WORKED = [2, 3, 1, 1, 1, 2, 3, 2, 3, 3, 2, 2, 1, 1, 1, 2, 1, 3, 2, 1, 2, 3, 2, 2, 1, 2, 2, 2, 4, 5]
REF = pd.Timestamp("2024-01-10")


def qs_rows(subject: str, day: int, answers: list, visit: str) -> list[dict]:
    date = (REF + pd.Timedelta(days=day - 1)).strftime("%Y-%m-%d")
    return [{"USUBJID": subject, "QSTESTCD": f"EOR01{k:02d}", "QSSTRESN": a, "VISIT": visit, "QSDTC": date}
            for k, a in enumerate(answers, 1)]


def adsl_for(subjects):
    return pd.DataFrame({"USUBJID": subjects, "TRTSDT": REF, "SAFFL": "Y", "DTHDT": pd.NaT,
                         "LSTALVDT": REF + pd.Timedelta(days=400), "DCUTDT": pd.NaT})


def test_adqs_scores_equal_the_scorer_and_baseline_change():
    """Baseline = last questionnaire on or before day 1; week-6 window 43 +- 14 days; CHG =
    AVAL - BASE; the worked example of the scoring manual (methods.md §5.3) through QS."""
    worse = [min(a + 1, 4) if k < 28 else max(a - 2, 1) for k, a in enumerate(WORKED)]
    rows = (qs_rows("A", -5, WORKED, "SCREENING") + qs_rows("A", 1, WORKED, "BASELINE")
            + qs_rows("A", 46, worse, "WEEK 6") + qs_rows("A", 105, worse, "UNSCHEDULED"))
    adqs = derive_adqs(adsl_for(["A"]), pd.DataFrame(rows))
    expected = score_qlq_c30(pd.DataFrame([WORKED, worse], columns=[f"Q{k}" for k in range(1, 31)]))
    base = adqs[adqs["ABLFL"].eq("Y")].set_index("PARAMCD")["AVAL"]
    week6 = adqs[adqs["AVISIT"].eq("WEEK 6")].set_index("PARAMCD")
    for code in expected.columns:
        assert base[code] == pytest.approx(expected.loc[0, code], nan_ok=True)
        assert week6.loc[code, "CHG"] == pytest.approx(expected.loc[1, code] - expected.loc[0, code], nan_ok=True)
    assert base["SUMSC"] == pytest.approx(73.0342, abs=1e-4)
    # day 105 lies between the week-12 (85 +- 14) and week-18 (127 +- 14) windows
    assert set(adqs.loc[adqs["ADY"].eq(105), "AVISIT"]) == {"UNSCHEDULED"}
    assert adqs.loc[adqs["ADY"].eq(-5), "ABLFL"].eq("").all()


def test_deterioration_direction_depends_on_the_scale():
    """Functional scales worsen when they fall, symptom scales when they rise (EORTC manual)."""
    worse = [min(a + 1, 4) if k < 28 else max(a - 2, 1) for k, a in enumerate(WORKED)]
    rows = qs_rows("A", 1, WORKED, "BASELINE") + qs_rows("A", 43, worse, "WEEK 6")
    adqs = derive_adqs(adsl_for(["A"]), pd.DataFrame(rows)).set_index(["PARAMCD", "AVISIT"])
    assert adqs.loc[("PF2", "WEEK 6"), "CHG"] < 0 and adqs.loc[("PF2", "WEEK 6"), "DETERFL"] == "Y"
    assert adqs.loc[("FA", "WEEK 6"), "CHG"] > 0 and adqs.loc[("FA", "WEEK 6"), "DETERFL"] == "Y"
    assert adqs.loc[("FA", "WEEK 6"), "IMPRFL"] == "N"


def test_two_questionnaires_in_one_window_keep_the_closest():
    rows = qs_rows("A", 1, WORKED, "BASELINE") + qs_rows("A", 35, WORKED, "WEEK 6") + qs_rows("A", 44, WORKED, "EOT")
    adqs = derive_adqs(adsl_for(["A"]), pd.DataFrame(rows))
    ql = adqs[adqs["PARAMCD"].eq("QL2") & adqs["AVISIT"].eq("WEEK 6")]
    assert ql.set_index("ADY")["ANL01FL"].to_dict() == {35: "", 44: "Y"}


def test_missed_questionnaires_and_absent_qs():
    qs = pd.DataFrame({"USUBJID": ["A"], "QSTESTCD": ["QSALL"], "QSSTAT": ["NOT DONE"],
                       "QSREASND": ["PATIENT TOO ILL"], "VISIT": ["WEEK 6"], "QSDTC": ["2024-02-20"]})
    assert missed_questionnaires(qs)["REASON"].tolist() == ["PATIENT TOO ILL"]
    assert derive_adqs(adsl_for(["A"]), qs).empty
    assert derive_adqs(adsl_for(["A"]), None).empty


def test_compliance_counts_expected_and_received():
    """A: baseline + week 6; B: baseline only, progressed on day 20, before the week-6 window opened
    on day 29 (not expected at week 6 when
    questionnaires stop at progression); C: never returned one."""
    rows = qs_rows("A", 1, WORKED, "BASELINE") + qs_rows("A", 43, WORKED, "WEEK 6") + qs_rows("B", 1, WORKED, "BASELINE")
    adsl = adsl_for(["A", "B", "C"])
    adqs = derive_adqs(adsl, pd.DataFrame(rows))
    stop = pd.Series({"B": REF + pd.Timedelta(days=19)})
    table = qol_analysis.compliance(adsl, adqs, 6, 14, "SAFFL", stop)
    assert table.loc["BASELINE", ["Expected", "Received"]].tolist() == [3, 2]
    assert table.loc["WEEK 6", ["Expected", "Received"]].tolist() == [2, 1]
    assert qol_analysis.compliance(adsl, adqs, 6, 14).loc["WEEK 6", "Expected"] == 3


def test_change_ci_is_the_t_interval():
    rng = np.random.default_rng(1)
    rows = []
    for i in range(8):
        rows += qs_rows(f"S{i}", 1, WORKED, "BASELINE")
        answers = [int(np.clip(a + rng.integers(-1, 2), 1, 4 if k < 28 else 7)) for k, a in enumerate(WORKED)]
        rows += qs_rows(f"S{i}", 43, answers, "WEEK 6")
    adqs = derive_adqs(adsl_for([f"S{i}" for i in range(8)]), pd.DataFrame(rows))
    summary = qol_analysis.by_visit(adqs, "PF2").set_index("visit").loc["WEEK 6"]
    chg = adqs[adqs["PARAMCD"].eq("PF2") & adqs["CHG"].notna()]["CHG"]
    low, high = sps.t.interval(0.95, len(chg) - 1, loc=chg.mean(), scale=sps.sem(chg))
    assert (summary["change_ci_low"], summary["change_ci_high"]) == pytest.approx((low, high))


def balanced_adqs(seed: int = 7, n: int = 30) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(n):
        base = rng.normal(60, 15)
        u = rng.normal(0, 6)
        for week, effect in ((6, -3.0), (12, 1.0), (18, 4.0)):
            chg = effect - 0.2 * (base - 60) + u + rng.normal(0, 5)
            rows.append({"USUBJID": f"S{i}", "PARAMCD": "QL2", "AVISIT": f"WEEK {week}", "AVISITN": week,
                         "BASE": base, "CHG": chg, "AVAL": base + chg, "ANL01FL": "Y", "ABLFL": ""})
    return pd.DataFrame(rows)


def test_mixed_model_equals_ols_for_a_balanced_design():
    """Second implementation: statsmodels OLS with the same fixed effects."""
    import statsmodels.formula.api as smf

    data = balanced_adqs()
    estimates, info = qol_analysis.mixed_model(data, "QL2", min_n=5)
    assert info["converged"] and info["n_subjects"] == 30
    d = data.assign(BASEC=data["BASE"] - data["BASE"].mean(), VISIT=data["AVISITN"].astype(int))
    ols = smf.ols("CHG ~ C(VISIT) + BASEC", d).fit()
    expected = [ols.params["Intercept"]] + [ols.params["Intercept"] + ols.params[f"C(VISIT)[T.{w}]"] for w in (12, 18)]
    np.testing.assert_allclose(estimates["estimate"], expected, atol=1e-6)
    assert info["baseline_coefficient"] == pytest.approx(ols.params["BASEC"], abs=1e-6)
    assert (estimates["ci_low"] < estimates["estimate"]).all() and (estimates["estimate"] < estimates["ci_high"]).all()


def test_mixed_model_leaves_out_sparse_visits():
    data = balanced_adqs()
    extra = data[data["AVISITN"].eq(18)].head(3).assign(AVISIT="WEEK 24", AVISITN=24)
    estimates, info = qol_analysis.mixed_model(pd.concat([data, extra]), "QL2", min_n=5)
    assert info["visits_left_out"] == ["WEEK 24"] and "WEEK 24" not in estimates["visit"].tolist()


def test_time_to_deterioration_by_hand():
    """A deteriorates at day 85 (second post-baseline questionnaire); B never: censored at its
    last questionnaire (day 43); C has only a baseline: censored at day 1."""
    fine = WORKED
    bad = [min(a + 2, 4) if k < 28 else 1 for k, a in enumerate(WORKED)]
    rows = (qs_rows("A", 1, fine, "BASELINE") + qs_rows("A", 43, fine, "WEEK 6") + qs_rows("A", 85, bad, "WEEK 12")
            + qs_rows("B", 1, fine, "BASELINE") + qs_rows("B", 43, fine, "WEEK 6") + qs_rows("C", 1, fine, "BASELINE"))
    adqs = derive_adqs(adsl_for(["A", "B", "C"]), pd.DataFrame(rows))
    ttd = qol_analysis.time_to_deterioration(adqs, "QL2").set_index("USUBJID")
    assert ttd.loc["A", ["AVAL", "EVENT"]].tolist() == [85, 1]
    assert ttd.loc["B", ["AVAL", "EVENT"]].tolist() == [43, 0]
    assert ttd.loc["C", ["AVAL", "EVENT"]].tolist() == [1, 0]


def test_non_numeric_item_response_is_a_clear_error():
    from mpmlib.errors import DataError

    rows = pd.DataFrame(qs_rows("A", 1, WORKED, "BASELINE")).rename(columns={"QSSTRESN": "QSSTRESC"}).astype({"QSSTRESC": object})
    rows.loc[3, "QSSTRESC"] = "QUITE A BIT"
    with pytest.raises(DataError, match=r"QS\.QSSTRESC: item response must be a number \[USUBJID: A\] - values: QUITE A BIT"):
        derive_adqs(adsl_for(["A"]), rows)


def test_responders_equal_a_plain_count():
    """Second implementation: counts of CHG * direction >= 10 / <= -10 by visit."""
    rng = np.random.default_rng(5)
    rows = []
    for i in range(12):
        rows += qs_rows(f"S{i}", 1, WORKED, "BASELINE")
        answers = [int(np.clip(a + rng.integers(-2, 3), 1, 4 if k < 28 else 7)) for k, a in enumerate(WORKED)]
        rows += qs_rows(f"S{i}", 43, answers, "WEEK 6")
    adqs = derive_adqs(adsl_for([f"S{i}" for i in range(12)]), pd.DataFrame(rows))
    table = qol_analysis.responders(adqs, "FA")
    fa = adqs[adqs["PARAMCD"].eq("FA") & adqs["CHG"].notna()]
    improved, worse = int((fa["CHG"] <= -10).sum()), int((fa["CHG"] >= 10).sum())   # fatigue: lower is better
    assert int(table.loc["WEEK 6", "n"]) == len(fa)
    assert table.loc["WEEK 6", "Improved"].split()[0] == str(improved) or (improved == 0 and table.loc["WEEK 6", "Improved"] == "0")
    assert table.loc["WEEK 6", "Deteriorated"].split()[0] == str(worse) or (worse == 0 and table.loc["WEEK 6", "Deteriorated"] == "0")


def test_compliance_counts_received_among_expected_and_lists_scheduled_visits():
    """Counted by hand. On study until day 131 (LSTALVDT), so windows open through week 18 (day
    127 - 14 = 113) but not week 24 (155 - 14 = 141). A: baseline and week 12. B: baseline,
    progressed on day 20, yet returned a week-6 questionnaire (off-schedule, not received).
    C: none. Nobody returned one at week 18: the visit is still listed."""
    rows = (qs_rows("A", 1, WORKED, "BASELINE") + qs_rows("A", 85, WORKED, "WEEK 12")
            + qs_rows("B", 1, WORKED, "BASELINE") + qs_rows("B", 43, WORKED, "WEEK 6"))
    adsl = adsl_for(["A", "B", "C"]).assign(LSTALVDT=REF + pd.Timedelta(days=130))
    adqs = derive_adqs(adsl, pd.DataFrame(rows))
    table = qol_analysis.compliance(adsl, adqs, 6, 14, "SAFFL", pd.Series({"B": REF + pd.Timedelta(days=19)}))
    assert table.index.tolist() == ["BASELINE", "WEEK 6", "WEEK 12", "WEEK 18"]
    assert table["Expected"].tolist() == [3, 2, 2, 2]
    assert table["Received"].tolist() == [2, 0, 1, 0]
    assert table["Off-schedule"].tolist() == [0, 1, 0, 0]
    assert table["Compliance (%)"].tolist() == ["66.7", "0.0", "50.0", "0.0"]


def test_partial_questionnaire_date_is_kept_and_flagged():
    """A questionnaire dated only to the month (or undated) is scored and kept with ADTINCFL = Y,
    no ADT/ADY and no analysis visit (ADQS rules); B never had a baseline questionnaire."""
    partial = [{**r, "QSDTC": "2024-04"} for r in qs_rows("A", 85, WORKED, "WEEK 12")]
    undated = [{**r, "QSDTC": None} for r in qs_rows("A", 127, WORKED, "WEEK 18")]
    rows = qs_rows("A", 1, WORKED, "BASELINE") + partial + undated + qs_rows("B", 43, WORKED, "WEEK 6")
    adsl = adsl_for(["A", "B"])
    adqs = derive_adqs(adsl, pd.DataFrame(rows))
    flagged = adqs[adqs["ADTINCFL"].eq("Y")]
    assert sorted(flagged["VISIT"].unique()) == ["WEEK 12", "WEEK 18"]
    assert flagged["ADT"].isna().all() and flagged["ADY"].isna().all()
    assert flagged["AVISIT"].eq("UNSCHEDULED").all() and flagged["ANL01FL"].eq("").all()
    expected = score_qlq_c30(pd.DataFrame([WORKED], columns=[f"Q{k}" for k in range(1, 31)]))
    ql = flagged[flagged["PARAMCD"].eq("QL2")]["AVAL"]
    assert ql.tolist() == pytest.approx([expected.loc[0, "QL2"]] * 2)
    assert adqs.loc[adqs["ADTINCFL"].ne("Y"), "ADTINCFL"].eq("").all()
    assert qol_analysis.incomplete_dates(adqs).values.tolist() == [["A", "WEEK 12"], ["A", "WEEK 18"]]
    assert qol_analysis.without_baseline(adsl, adqs).tolist() == ["B"]


# --- a second instrument from tables only ------------------------------------------------------

TOY_INSTRUMENT = "instrument,qstestcd,n_items,scales,summary_code,summary_label\n" \
                 "TOY-4,^TOY(\\d)$,4,toy_scales.csv,TOYSUM,Toy summary score\n"
TOY_SCALES = ("instrument,code,label,kind,items,item_min,item_max,in_summary\n"
              "TOY-4,TF,Toy functioning,functional,1 2,1,4,Y\n"
              "TOY-4,TS,Toy symptom,symptom,3 4,0,10,Y\n")


def toy_tables(tmp_path, with_c30: bool = True):
    """A made-up 2-scale, 4-item instrument (items TOY1-TOY4) written as table rows in tmp files;
    with_c30 adds the shipped QLQ-C30 row and a copy of its scale table beside it."""
    from importlib.resources import files

    shipped = files("mpmlib").joinpath("resources")
    lines = TOY_INSTRUMENT.splitlines()
    if with_c30:
        lines.insert(1, shipped.joinpath("qol_instruments.csv").read_text(encoding="utf-8").splitlines()[1])
        (tmp_path / "qlq_c30_scales.csv").write_text(shipped.joinpath("qlq_c30_scales.csv").read_text(encoding="utf-8"))
    (tmp_path / "instruments.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "toy_scales.csv").write_text(TOY_SCALES)
    return tmp_path / "instruments.csv"


def toy_rows(subject, day, answers, visit):
    date = (REF + pd.Timedelta(days=day - 1)).strftime("%Y-%m-%d")
    return [{"USUBJID": subject, "QSTESTCD": f"TOY{k}", "QSSTRESN": a, "VISIT": visit, "QSDTC": date}
            for k, a in enumerate(answers, 1)]


def test_second_instrument_defined_by_table_rows_is_scored_into_adqs(tmp_path):
    """Hand-computed (Scoring Manual formulas applied to the toy table): baseline TF items 1, 2 ->
    RS 1.5 -> (1 - 0.5/3) * 100 = 83.33; TS items 5, missing (half rule: 1 of 2) -> 5/10 * 100 =
    50; TOYSUM = mean(83.33, 100 - 50) = 66.67. Week 6: TF 3, 3 -> 33.33; TS 8, 6 -> 70; TOYSUM
    = mean(33.33, 30) = 31.67. Every change is a deterioration of >= 10 points (TS worsens upward).
    The QLQ-C30 records of the same QS give the same rows as with the shipped tables."""
    table = toy_tables(tmp_path)
    rows = (qs_rows("A", 1, WORKED, "BASELINE") + toy_rows("A", 1, [1, 2, 5, None], "BASELINE")
            + toy_rows("A", 43, [3, 3, 8, 6], "WEEK 6"))
    qs = pd.DataFrame(rows)
    adqs = derive_adqs(adsl_for(["A"]), qs, instruments=table)
    toy = adqs[adqs["PARCAT1"].eq("TOY-4")].set_index(["PARAMCD", "AVISIT"])
    assert adqs["PARAMCD"].drop_duplicates().tolist()[-3:] == ["TF", "TS", "TOYSUM"]
    assert toy["AVAL"].to_dict() == pytest.approx({
        ("TF", "BASELINE"): 250 / 3, ("TS", "BASELINE"): 50.0, ("TOYSUM", "BASELINE"): 200 / 3,
        ("TF", "WEEK 6"): 100 / 3, ("TS", "WEEK 6"): 70.0, ("TOYSUM", "WEEK 6"): 95 / 3})
    assert toy.xs("WEEK 6", level="AVISIT")["CHG"].tolist() == pytest.approx([-50.0, 20.0, -35.0])
    assert toy.xs("WEEK 6", level="AVISIT")["DETERFL"].tolist() == ["Y", "Y", "Y"]
    assert toy.xs("BASELINE", level="AVISIT")["PARAM"].tolist() == ["Toy functioning", "Toy symptom", "Toy summary score"]
    assert toy["DIRECTION"].xs("BASELINE", level="AVISIT").tolist() == [1, -1, 1]
    c30 = adqs[adqs["PARCAT1"].eq("QLQ-C30")].reset_index(drop=True)
    pd.testing.assert_frame_equal(c30, derive_adqs(adsl_for(["A"]), qs))   # TOY records ignored there
    (tmp_path / "toy_only").mkdir()
    only_toy = derive_adqs(adsl_for(["A"]), qs, instruments=toy_tables(tmp_path / "toy_only", with_c30=False))
    assert set(only_toy["PARCAT1"]) == {"TOY-4"} and len(only_toy) == 6


def test_instrument_table_errors_are_named(tmp_path):
    """An item code beyond n_items is a DataError naming the subject; a PARAMCD shared by two
    instruments or a QSTESTCD matching two patterns is a table error (ValueError)."""
    from mpmlib.errors import DataError

    table = toy_tables(tmp_path)
    with pytest.raises(DataError, match=r"QS\.QSTESTCD: item number outside .*\[USUBJID: B\].*TOY5"):
        derive_adqs(adsl_for(["B"]), pd.DataFrame(toy_rows("B", 1, [1, 2, 3, 4, 5], "BASELINE")), instruments=table)
    with pytest.raises(DataError, match=r"QS\.QSTESTCD: item number outside .*EOR0131"):
        derive_adqs(adsl_for(["A"]), pd.DataFrame(qs_rows("A", 1, WORKED + [1], "BASELINE")))
    (tmp_path / "toy_scales.csv").write_text(TOY_SCALES.replace(",TF,", ",PF2,"))
    with pytest.raises(ValueError, match=r"PARAMCD used by two .*PF2"):
        derive_adqs(adsl_for(["A"]), pd.DataFrame(toy_rows("A", 1, [1, 2, 3, 4], "BASELINE")), instruments=table)
    (tmp_path / "toy_scales.csv").write_text(TOY_SCALES)
    table.write_text(table.read_text().replace("^TOY(\\d)$", "^(?:TOY|EOR010)(\\d)$"))
    with pytest.raises(ValueError, match=r"match the patterns of TOY-4 and QLQ-C30"):
        derive_adqs(adsl_for(["A"]), pd.DataFrame(qs_rows("A", 1, WORKED, "BASELINE")), instruments=table)


# --- by-visit CIs: level from alpha, minimum n, range; one counting rule (issue 13) ---------------

def change_adqs(changes: dict[int, list[float]], base: float = 50.0) -> pd.DataFrame:
    """Hand-built ADQS of one scale (QL2): ``changes`` week -> the changes of subjects S0, S1, ...
    at that week (baseline ``base`` for everyone)."""
    n = max(len(v) for v in changes.values())
    rows = [{"USUBJID": f"S{i}", "PARAMCD": "QL2", "PARAM": "Global health", "PARCAT1": "QLQ-C30", "DIRECTION": 1,
             "AVISIT": "BASELINE", "AVISITN": 0, "ANL01FL": "Y", "ABLFL": "Y", "AVAL": base, "BASE": base,
             "CHG": np.nan, "ADY": 1, "DETERFL": "", "IMPRFL": ""} for i in range(n)]
    for week, values in changes.items():
        rows += [{"USUBJID": f"S{i}", "PARAMCD": "QL2", "PARAM": "Global health", "PARCAT1": "QLQ-C30", "DIRECTION": 1,
                  "AVISIT": f"WEEK {week}", "AVISITN": week, "ANL01FL": "Y", "ABLFL": "", "AVAL": base + c,
                  "BASE": base, "CHG": c, "ADY": 7 * week + 1, "DETERFL": "Y" if c <= -10 else "N",
                  "IMPRFL": "Y" if c >= 10 else "N"} for i, c in enumerate(values)]
    return pd.DataFrame(rows)


def test_ci_label_comes_from_alpha():
    """Reference: the definition, level = 100 (1 - alpha) %: 0.05 -> 95%, 0.1 -> 90%, 0.025 ->
    97.5%, 0.01 -> 99%. Every label of the page (tables, model, figure, header) uses it."""
    from mpmlib.plots import qol as plots_qol

    assert [qol_analysis.ci_label(a) for a in (0.05, 0.1, 0.025, 0.01)] == ["95%", "90%", "97.5%", "99%"]
    with pytest.raises(ValueError):
        qol_analysis.ci_label(1.5)
    summary = qol_analysis.by_visit(change_adqs({6: [10, 20, 30]}), "QL2", alpha=0.1)
    columns = qol_analysis.by_visit_display(summary, alpha=0.1).columns
    assert "Mean change [90% CI]" in columns and not any("95" in c for c in columns)
    assert qol_analysis.by_visit_notes(0.1, 3).startswith("CI: two-sided 90% (alpha = 0.1)")
    estimates, info = qol_analysis.mixed_model(balanced_adqs(), "QL2", min_n=5, alpha=0.1)
    assert list(qol_analysis.model_display(estimates, info, alpha=0.1).columns) == ["n", "Estimated mean change [90% CI]"]
    assert "CI: 90% Wald" in qol_analysis.model_caption("QL2", info, alpha=0.1)
    fig = plots_qol.mean_change_plot({"QL2": summary}, min_n=3, alpha=0.1)
    assert fig.axes[0].get_ylabel() == "Mean change (90% CI)"
    cfg = {"population": "SAFFL", "interval_weeks": 6, "window_days": 14, "expected_until": "progression",
           "meaningful_change": 10, "min_n_ci": 3}
    header = qol_page.page_header("Trial", ["QLQ-C30"], 3, cfg, 0.1)
    assert "two-sided 90% (efficacy.alpha = 0.1)" in header and "95" not in header


def test_change_ci_absent_below_min_n_and_equal_to_the_t_interval_from_it():
    """Hand-worked: week 6 changes 10, 20, 30 -> mean 20, SD 10, SE 10 / sqrt(3) = 5.7735,
    t(0.975, 2) = 4.302653 (scipy.stats.t.ppf), half-width 24.841 -> [-4.841, 44.841]. Week 12
    has 2 changes (< qol.min_n_ci = 3): mean shown, no CI. With min_n_ci = 2 week 12 gets the t
    interval with 1 df; min_n_ci = 1 still gives none for a single change (no df)."""
    adqs = change_adqs({6: [10, 20, 30], 12: [5, 15], 18: [7]})
    summary = qol_analysis.by_visit(adqs, "QL2", 0.05, min_n_ci=3).set_index("visit")
    assert (summary.loc["WEEK 6", "change_ci_low"], summary.loc["WEEK 6", "change_ci_high"]) == pytest.approx(
        (20 - 24.8414, 20 + 24.8414), abs=1e-3)
    assert (summary.loc["WEEK 6", "change_ci_low"], summary.loc["WEEK 6", "change_ci_high"]) == pytest.approx(
        sps.t.interval(0.95, 2, loc=20, scale=10 / np.sqrt(3)))
    assert summary.loc["WEEK 12", "mean_change"] == 10
    assert np.isnan(summary.loc["WEEK 12", "change_ci_low"]) and np.isnan(summary.loc["WEEK 12", "change_ci_high"])
    shown = qol_analysis.by_visit_display(summary.reset_index(), 0.05)["Mean change [95% CI]"]
    assert shown.to_dict() == {"BASELINE": "-", "WEEK 6": "20.0 [-4.8, 44.8]", "WEEK 12": "10.0 [-]", "WEEK 18": "7.0 [-]"}
    two = qol_analysis.by_visit(adqs, "QL2", 0.05, min_n_ci=2).set_index("visit")
    assert two.loc["WEEK 12", "change_ci_low"] == pytest.approx(sps.t.interval(0.95, 1, loc=10, scale=5)[0])
    assert np.isnan(qol_analysis.by_visit(adqs, "QL2", 0.05, min_n_ci=1).set_index("visit").loc["WEEK 18", "change_ci_low"])


def test_change_ci_is_clipped_to_the_range_of_change_and_footnoted():
    """Hand-worked: changes -100, 0, 100 -> mean 0, SD 100, half-width 4.302653 * 100 / sqrt(3)
    = 248.41, so the t interval [-248.4, 248.4] is cut to [-100, 100]; changes 0, 0, 90 (baseline
    0) -> mean 30, SD 51.96, SE 30, half-width 129.08 -> [-99.08, 159.08] cut above only to
    [-99.08, 100]. Scores 0-100 make a change lie in -100..100 (EORTC Scoring Manual linear
    transformation), so the true mean is inside and the cut keeps coverage."""
    wide = qol_analysis.by_visit(change_adqs({6: [-100, 0, 100]}), "QL2").set_index("visit").loc["WEEK 6"]
    assert (wide["change_ci_low"], wide["change_ci_high"], wide["change_ci_clipped"]) == (-100.0, 100.0, True)
    one_side = qol_analysis.by_visit(change_adqs({6: [0, 0, 90]}, base=0.0), "QL2").set_index("visit").loc["WEEK 6"]
    assert one_side["change_ci_low"] == pytest.approx(30 - 4.302653 * 30, abs=1e-4)
    assert one_side["change_ci_high"] == 100.0 and one_side["change_ci_clipped"]
    inside = qol_analysis.by_visit(change_adqs({6: [10, 20, 30]}), "QL2").set_index("visit").loc["WEEK 6"]
    assert not inside["change_ci_clipped"]
    cell = qol_analysis.by_visit_display(qol_analysis.by_visit(change_adqs({6: [-100, 0, 100]}), "QL2"))
    assert cell.loc["WEEK 6", "Mean change [95% CI]"] == "0.0 [-100.0, 100.0]" + qol_analysis.CLIPPED_MARK
    assert "cut to the possible range of change (-100 to 100)" in qol_analysis.by_visit_notes(0.05, 3, clipped=True)
    assert "cut" not in qol_analysis.by_visit_notes(0.05, 3, clipped=False)
    assert qol_analysis.clip_ci(-5.0, 120.0, qol_analysis.SCORE_RANGE) == (0.0, 100.0, True)


def test_mixed_model_ci_is_clipped_to_the_range_of_change():
    """Three subjects (baselines 0, 50, 100; changes +100 / 0, -50 / +50, 0 / -100, each possible
    on a 0-100 scale). At alpha 0.05 the week-6 Wald interval 16.67 +- 1.95996 SE lies inside
    -100..100 (SE = half-width / 1.95996); at alpha 0.01 its upper end 16.67 + 2.57583 SE (Wald
    formula, scipy normal quantiles) passes 100 and is cut there, flagged, as in the tables."""
    rows = [{"USUBJID": f"S{i}", "PARAMCD": "QL2", "AVISIT": f"WEEK {w}", "AVISITN": w, "BASE": b, "CHG": c}
            for i, (b, c6, c12) in enumerate(((0, 100, 0), (50, -50, 50), (100, 0, -100))) for w, c in ((6, c6), (12, c12))]
    data = pd.DataFrame(rows)
    wide, info95 = qol_analysis.mixed_model(data, "QL2", min_n=3, alpha=0.05)
    assert info95["converged"] and not info95["clipped"]
    week6 = wide.iloc[0]
    se = (week6["ci_high"] - week6["estimate"]) / sps.norm.ppf(0.975)
    unclipped_high = week6["estimate"] + sps.norm.ppf(0.995) * se
    assert unclipped_high > 100
    cut, info99 = qol_analysis.mixed_model(data, "QL2", min_n=3, alpha=0.01)
    assert info99["clipped"] and bool(cut.iloc[0]["ci_clipped"])
    assert cut.iloc[0]["ci_high"] == 100.0
    assert cut.iloc[0]["ci_low"] == pytest.approx(week6["estimate"] - sps.norm.ppf(0.995) * se)
    assert cut["ci_low"].ge(-100).all() and cut["ci_high"].le(100).all()
    assert qol_analysis.model_display(cut, info99, 0.01).iloc[0, 1].endswith(qol_analysis.CLIPPED_MARK)
    assert "cut to the possible range of change" in qol_analysis.model_caption("QL2", info99, 0.01)


def test_figure_draws_exactly_the_visits_with_a_ci_in_the_table():
    """One rule (qol_analysis.ci_available, qol.min_n_ci) for both: week 6 has 5 changes, week 12
    has 3, week 18 has 2. With min_n_ci 3 the table has CIs at weeks 6 and 12 and the figure draws
    those two weeks; with 4 only week 6 in both. Summaries made with another minimum n than the
    figure's are refused (ValueError), so the two cannot drift apart."""
    from mpmlib.plots import qol as plots_qol

    adqs = change_adqs({6: [1, 2, 3, 4, 5], 12: [3, 4, 8], 18: [2, 9]})
    for min_n, weeks in ((3, [6.0, 12.0]), (4, [6.0])):
        summary = qol_analysis.by_visit(adqs, "QL2", 0.05, min_n)
        table = qol_analysis.by_visit_display(summary)["Mean change [95% CI]"]
        with_ci = [v for v, cell in table.items() if cell not in ("-",) and not cell.endswith("[-]")]
        drawn = plots_qol.mean_change_data({"QL2": summary}, min_n)["QL2"]["visit"].tolist()
        assert drawn == with_ci == [f"WEEK {w:g}" for w in weeks]
        fig = plots_qol.mean_change_plot({"QL2": summary}, min_n=min_n)
        assert fig.axes[0].lines[0].get_xdata().tolist() == weeks
    with pytest.raises(ValueError, match="another minimum n"):
        plots_qol.mean_change_data({"QL2": qol_analysis.by_visit(adqs, "QL2", 0.05, 3)}, 4)


def test_off_schedule_questionnaires_are_counted_alike_in_compliance_and_by_visit():
    """Counted by hand (one rule, qol_analysis.flag_schedule). Week 6 window opens on day
    43 - 14 = 29, week 12 on day 85 - 14 = 71. A: on schedule throughout (baseline, day 43, day
    85). B: progressed on day 20 (before day 29), yet returned a week-6 questionnaire on day 43:
    off-schedule. C: progressed on day 36 (after the week-6 window opened), questionnaire on day
    50: expected at week 6, so received and analysed although dated after the progression; its
    week-12 one (day 85) is off-schedule. D: not in the population (SAFFL = N): in nothing.
    Expected / received / off-schedule: week 6 2 / 2 / 1, week 12 1 / 1 / 1. The by-visit n,
    responders, the mixed model and time to deterioration use the same questionnaires: week 6 n
    = 2 with the mean of A and C (B's worse answers left out), week 12 n = 1; C's TTD censored at
    day 50, not 85."""
    worse = [min(a + 2, 4) if k < 28 else 1 for k, a in enumerate(WORKED)]
    rows = (qs_rows("A", 1, WORKED, "BASELINE") + qs_rows("A", 43, WORKED, "WEEK 6") + qs_rows("A", 85, WORKED, "WEEK 12")
            + qs_rows("B", 1, WORKED, "BASELINE") + qs_rows("B", 43, worse, "WEEK 6")
            + qs_rows("C", 1, WORKED, "BASELINE") + qs_rows("C", 50, WORKED, "WEEK 6") + qs_rows("C", 85, worse, "WEEK 12")
            + qs_rows("D", 1, WORKED, "BASELINE") + qs_rows("D", 43, worse, "WEEK 6"))
    adsl = adsl_for(["A", "B", "C", "D"]).assign(SAFFL=["Y", "Y", "Y", "N"], LSTALVDT=REF + pd.Timedelta(days=100))
    stop = pd.Series({"B": REF + pd.Timedelta(days=19), "C": REF + pd.Timedelta(days=35)})
    adqs = qol_analysis.flag_schedule(adsl, derive_adqs(adsl, pd.DataFrame(rows)), 14, "SAFFL", stop)
    table = qol_analysis.compliance(adsl, adqs, 6, 14, "SAFFL", stop)
    assert table.loc[["BASELINE", "WEEK 6", "WEEK 12"], ["Expected", "Received", "Off-schedule"]].values.tolist() == [
        [3, 3, 0], [2, 2, 1], [1, 1, 1]]
    summary = qol_analysis.by_visit(adqs, "QL2").set_index("visit")
    assert summary.loc[["WEEK 6", "WEEK 12"], "n"].tolist() == table.loc[["WEEK 6", "WEEK 12"], "Received"].tolist()
    same = score_qlq_c30(pd.DataFrame([WORKED], columns=[f"Q{k}" for k in range(1, 31)])).loc[0, "QL2"]
    assert summary.loc["WEEK 6", "mean"] == pytest.approx(same) and summary.loc["WEEK 6", "mean_change"] == 0
    assert qol_analysis.responders(adqs, "QL2").loc[["WEEK 6", "WEEK 12"], "n"].tolist() == [2, 1]
    assert qol_analysis.time_to_deterioration(adqs, "QL2").set_index("USUBJID").loc["C", ["AVAL", "EVENT"]].tolist() == [50, 0]
    flags = adqs[adqs["PARAMCD"].eq("QL2")].set_index(["USUBJID", "AVISIT"])["ONSCHFL"]
    assert flags[("B", "WEEK 6")] == "N" and flags[("C", "WEEK 12")] == "N" and flags[("C", "WEEK 6")] == "Y"
    assert flags.xs("D", level="USUBJID").eq("").all()
    assert len(qol_analysis.analysis_set(adqs).query("PARAMCD == 'QL2'")) == 3 + 2 + 1


def test_page_says_what_qs_holds_and_what_is_analysed():
    """Hand-built QS like the CDISC pilot's (ADAS-Cog items ACITM01..., QSCAT given) beside
    QLQ-C30 items: the inventory counts records and subjects per category by hand (30 + 30 QLQ-C30
    records of 1 subject; 2 ADAS-Cog records of 2 subjects) and says only the QLQ-C30 is scored;
    with ADAS-Cog alone nothing is analysed and the page says so, naming the instrument table's
    instruments. The header names the instruments scored from ADQS and escapes the study title."""
    c30 = [{**r, "QSCAT": "EORTC QLQ-C30"} for r in qs_rows("A", 1, WORKED, "BASELINE") + qs_rows("A", 43, WORKED, "WEEK 6")]
    adas = [{"USUBJID": s, "QSTESTCD": "ACITM01", "QSCAT": "ALZHEIMER'S DISEASE ASSESSMENT SCALE", "QSSTRESN": 2,
             "VISIT": "BASELINE", "QSDTC": "2024-01-10"} for s in ("P1", "P2")]
    inventory = qol_analysis.qs_inventory(pd.DataFrame(c30 + adas))
    assert inventory[["Records", "Subjects"]].to_dict("index") == {
        "ALZHEIMER'S DISEASE ASSESSMENT SCALE": {"Records": 2, "Subjects": 2}, "EORTC QLQ-C30": {"Records": 60, "Subjects": 1}}
    assert inventory["Analysed"].tolist() == ["no: no instrument of the instrument table matches its QSTESTCD",
                                              "yes: scored as QLQ-C30"]
    only_adas = pd.DataFrame(adas)
    adqs = derive_adqs(adsl_for(["P1", "P2"]), only_adas)
    assert adqs.empty and qol_analysis.instruments_scored(adqs) == []
    message = qol_analysis.no_data_message(only_adas, adqs)
    assert "QLQ-C30" in message and "none of it is analysed" in message
    assert qol_analysis.no_data_message(None, adqs).startswith("> **No QS domain")
    scored = derive_adqs(adsl_for(["A"]), pd.DataFrame(c30))
    assert qol_analysis.instruments_scored(scored) == ["QLQ-C30"]
    assert qol_analysis.no_data_message(pd.DataFrame(c30), scored) is None
    cfg = {"population": "SAFFL", "interval_weeks": 6, "window_days": 14, "expected_until": "study",
           "meaningful_change": 10, "min_n_ci": 3}
    header = qol_page.page_header("<b>My_trial</b>", [], 2, cfg, 0.05)
    assert "&lt;b&gt;My\\_trial&lt;/b&gt;" in header and "**Instrument(s) scored:** none" in header
    assert "QLQ-C30" in qol_page.page_header("T", ["QLQ-C30"], 1, cfg, 0.05)


def test_data_gaps_listing_and_masked_ids():
    """Hand-built (as test_partial_questionnaire_date_is_kept_and_flagged): A has a baseline and a
    month-only week-12 questionnaire, B only a week-6 one (no baseline). The listing has one row per
    subject and finding; with report.mask_subject_ids the page shows rank numbers among ADSL
    USUBJIDs (tables.subject_ids: A -> Subject 001, B -> Subject 002)."""
    from mpmlib.tables.format import subject_ids

    partial = [{**r, "QSDTC": "2024-04"} for r in qs_rows("A", 85, WORKED, "WEEK 12")]
    adsl = adsl_for(["A", "B"])
    adqs = derive_adqs(adsl, pd.DataFrame(qs_rows("A", 1, WORKED, "BASELINE") + partial + qs_rows("B", 43, WORKED, "WEEK 6")))
    gaps = qol_analysis.data_gaps(adsl, adqs)
    assert gaps.values.tolist() == [["A", "questionnaire with a partial or missing date (visit WEEK 12)"],
                                    ["B", "no baseline questionnaire"]]
    assert subject_ids(gaps["USUBJID"], adsl["USUBJID"], mask=True).tolist() == ["Subject 001", "Subject 002"]
    cfg = {"population": "SAFFL", "interval_weeks": 6, "window_days": 14, "expected_until": "progression",
           "meaningful_change": 10, "min_n_ci": 3}
    header = qol_page.page_header("T", ["QLQ-C30"], 2, cfg, 0.05, stop_dates=pd.Series({"B": REF}))
    assert "1 subject(s) with a progression in the response data (ADRS)" in header


def test_by_visit_all_equals_a_plain_per_visit_computation():
    """by_visit_all (one pass over ADQS for every scale) against a plain filter per scale and
    visit of the demo's flagged ADQS (ANL01FL = ONSCHFL = Y): n, mean, SD and the t-based CI of
    the mean change from scipy at alpha 0.1 where n >= 3 (independent second computation)."""
    from mpmlib.notebook import load_run
    from mpmlib.settings.load import PROJECT_ROOT

    run = load_run(str(PROJECT_ROOT / "params" / "demo.yaml"))
    adqs = qol_analysis.flag_schedule(run.adam["adsl"], run.adam["adqs"], 14, "SAFFL",
                                      qol_analysis.progression_dates(run.adam["adrs"]))
    scales = sorted(adqs["PARAMCD"].dropna().unique())
    together = qol_analysis.by_visit_all(adqs, scales, 0.1, 3)
    assert list(together) == scales and len(scales) >= 16
    used = adqs[adqs["ANL01FL"].eq("Y") & adqs["ONSCHFL"].eq("Y")]
    checked = 0
    for paramcd in scales:
        table = together[paramcd].set_index("visit")
        for visit, row in table.iterrows():
            plain = used[used["PARAMCD"].eq(paramcd) & used["AVISIT"].eq(visit)]
            chg = plain["CHG"].dropna()
            assert row["n"] == plain["AVAL"].count() and row["n_change"] == len(chg)
            if len(plain):
                assert row["mean"] == pytest.approx(plain["AVAL"].mean())
            if len(chg) >= 3 and chg.std(ddof=1) == 0:          # no spread: the CI is the mean itself
                assert row["change_ci_low"] == row["change_ci_high"] == chg.mean()
            elif len(chg) >= 3:
                low, high = sps.t.interval(0.9, len(chg) - 1, loc=chg.mean(), scale=chg.std(ddof=1) / np.sqrt(len(chg)))
                assert row["change_ci_low"] == pytest.approx(max(low, -100)) and row["change_ci_high"] == pytest.approx(min(high, 100))
                checked += 1
        pd.testing.assert_frame_equal(together[paramcd], qol_analysis.by_visit(adqs, paramcd, 0.1, 3), obj=paramcd)
    assert checked > 100
