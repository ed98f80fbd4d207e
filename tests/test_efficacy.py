"""Efficacy analysis tables: counts against an independent plain computation, rates against
statsmodels' exact CI, Kaplan-Meier summaries against R's published lung results.

References: statsmodels ``proportion_confint(method="beta")`` (Clopper-Pearson); R survival
``survfit(Surv(time, status) ~ 1, data = lung)``: median 310 days, log-log 95 % CI 284-361
(SAS PROC LIFETEST default); admiral_adrs_8c395ec counts (CBOR CR 8 + PR 18 = 26 confirmed
responders of 306 subjects).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from mpmlib.analysis import efficacy
from mpmlib.pages import efficacy as efficacy_page
from mpmlib.derive.adrs import derive_adrs
from mpmlib.derive.adtte import derive_adtte


@pytest.fixture(scope="module")
def demo():
    from mpmlib.sdtm.read import read_sdtm
    from mpmlib.derive.pipeline import derive_all
    from mpmlib.settings.load import PROJECT_ROOT, load_params

    params = load_params(PROJECT_ROOT / "params" / "demo.yaml")
    adam = derive_all(read_sdtm(params["sdtm"]["dir"]), params)
    return params, adam


def test_response_table_counts_equal_plain_groupby(demo):
    """Every BOR row of the table equals a plain value_counts of CBOR/BOR over the population;
    the rows add up to N (nobody dropped)."""
    params, adam = demo
    subjects = efficacy.flagged_subjects(adam["adsl"], "EFFFL")
    table = efficacy.response_table(adam["adrs"], subjects)
    n = len(subjects)
    for paramcd, column in (("CBOR", f"Confirmed (N={n})"), ("BOR", f"Confirmation not required (N={n})")):
        rows = adam["adrs"][adam["adrs"]["PARAMCD"].eq(paramcd) & adam["adrs"]["USUBJID"].isin(subjects["USUBJID"])]
        plain = rows["AVALC"].value_counts()
        shown = 0
        for code, label in efficacy.BOR_ROWS:
            cell = table.loc[label, column]
            count = int(cell.split(" ")[0])
            assert count == int(plain.get(code, 0)), (paramcd, code)
            shown += count
        assert shown == n


def test_response_rates_use_exact_ci_and_full_denominator(demo):
    params, adam = demo
    subjects = efficacy.flagged_subjects(adam["adsl"], "EFFFL")
    rates = efficacy.response_rates(adam["adrs"], subjects, 0.05, 0.05).set_index("endpoint")
    orr = rates.iloc[0]
    cbor = adam["adrs"].query("PARAMCD == 'CBOR'").set_index("USUBJID")["AVALC"].reindex(subjects["USUBJID"])
    assert orr["n"] == len(subjects)
    assert orr["responders"] == int(cbor.isin(["CR", "PR"]).sum())
    low, high = proportion_confint(orr["responders"], orr["n"], alpha=0.05, method="beta")
    assert orr["ci_low"] == pytest.approx(low, abs=1e-9) and orr["ci_high"] == pytest.approx(high, abs=1e-9)
    assert orr["p_value"] < 0.05


def test_subject_without_any_response_record_is_a_non_responder():
    """A subject of the population absent from ADRS is counted as MISSING, not dropped."""
    adsl = pd.DataFrame({"USUBJID": ["A", "B"], "TTEREFDT": pd.Timestamp("2024-01-01"), "DTHDT": pd.NaT})
    rs = pd.DataFrame({"USUBJID": ["A", "A"], "RSTESTCD": "OVRLRESP", "RSSTRESC": ["PR", "PR"],
                       "RSDTC": ["2024-02-15", "2024-03-30"]})
    adrs = derive_adrs(adsl.iloc[:1], rs)
    rates = efficacy.response_rates(adrs, adsl)
    assert (rates.iloc[0]["responders"], rates.iloc[0]["n"]) == (1, 2)


def test_full_rs_onco_confirmed_orr_count(pharmaverse_sdtm, pharmaverse_params):
    """admiral_adrs_8c395ec: 26 confirmed and 52 unconfirmed responders among 306 subjects."""
    from conftest import external
    from mpmlib.derive import derive_adsl
    from mpmlib.sdtm.read import read_domain

    adsl = derive_adsl(pharmaverse_sdtm, pharmaverse_params["adsl"])
    adrs = derive_adrs(adsl, read_domain(external("pharmaversesdtm", "rs_onco.rda"), "rs"),
                       {"reference_date": "RANDDT"})
    rates = efficacy.response_rates(adrs, adsl)
    assert rates["responders"].tolist()[0] == 26 and rates["responders"].tolist()[2] == 52
    assert set(rates["n"]) == {306}


def test_tte_summary_matches_r_lung():
    """R survival lung: median 310 days, 95 % CI 284-361 (log-log) / 285-363 (log)."""
    from lifelines.datasets import load_lung

    lung = load_lung()
    data = pd.DataFrame({"AVAL": lung["time"], "EVENT": lung["status"]})
    for conf_type, (low, high) in (("log-log", (284, 361)), ("log", (285, 363))):
        summary = efficacy.tte_summary(data, conf_type, 0.05, landmark_months=[6]).set_index("statistic")
        median = summary.loc["Median (months)"] * efficacy.DAYS_PER_MONTH
        assert (median["value"], median["ci_low"], median["ci_high"]) == pytest.approx((310, low, high))
        assert summary.loc["Subjects", "value"] == 228 and summary.loc["Events", "value"] == 165


def test_numbers_at_risk_and_censoring_table():
    data = pd.DataFrame({"AVAL": [10, 20, 20, 30, 40], "EVENT": [1, 0, 1, 1, 0], "CNSR": [0, 1, 0, 0, 1],
                         "EVNTDESC": ["Death", "Last", "Death", "Death", "Last"],
                         "CNSDTDSC": ["", "Alive", "", "", "Alive"]})
    risk = efficacy.numbers_at_risk(data, [0, 20, 35])
    assert risk.iloc[0].tolist() == [5, 4, 1]
    table = efficacy.censoring_table(data)
    assert table.loc[("Event", "Death")].iloc[0] == "3 (60.0)"
    assert table.loc[("Censored", "Alive")].iloc[0] == "2 (40.0)"


def _run(adam, mask: bool, reference: str = "TRTSDT", eff_reference=None, **eff):
    """A notebook Run on ``adam`` with the settings the page reads (no SDTM needed)."""
    from mpmlib.notebook import Run
    from mpmlib.settings.load import DEFAULTS

    params = {"report": {"mask_subject_ids": mask}, "adsl": {"reference_date": reference},
              "efficacy": {**DEFAULTS["efficacy"], "reference_date": eff_reference, **eff}}
    return Run(params=params, sdtm={}, adam=adam)


def _masked(usubjid, adsl) -> list[str]:
    """Independent reference for masking (report.mask_subject_ids, mpmlib.tables.format.subject_ids
    docstring): "Subject NNN", NNN = rank of the USUBJID among the sorted ADSL USUBJIDs."""
    ranked = sorted(adsl["USUBJID"].unique())
    return [f"Subject {ranked.index(u) + 1:03d}" for u in usubjid]


def test_not_evaluable_listing_carries_usubjid_or_masked_ids(demo):
    """Issue 13: a data manager can act on the listing, so it names each subject by USUBJID
    (reference: a plain filter of CBOR in {NE, MISSING} over the population), or by its masked
    number when report.mask_subject_ids is true (reference: rank in sorted ADSL USUBJID)."""
    params, adam = demo
    subjects = efficacy.flagged_subjects(adam["adsl"], "EFFFL")
    cbor = adam["adrs"].query("PARAMCD == 'CBOR'").set_index("USUBJID")["AVALC"].reindex(subjects["USUBJID"])
    expected = sorted(cbor.fillna("MISSING")[lambda v: v.isin(["NE", "MISSING"])].index)
    assert expected, "the demo has not-evaluable subjects"
    shown = efficacy.not_evaluable_listing(adam["adrs"], subjects, _run(adam, mask=False).subject_ids)
    assert shown.index.name == "Subject" and shown.index.tolist() == expected
    assert set(shown["Confirmed BOR"]) <= {"NE", "MISSING"}
    masked = efficacy.not_evaluable_listing(adam["adrs"], subjects, _run(adam, mask=True).subject_ids)
    assert masked.index.tolist() == _masked(expected, adam["adsl"])
    assert not any(s in masked.to_string() for s in adam["adsl"]["USUBJID"])
    assert efficacy.not_evaluable_listing(adam["adrs"], subjects).index.tolist() == expected  # default: USUBJID


def test_discordance_listing_carries_usubjid_and_study_day():
    """Disagreements are listed by USUBJID (or masked id) and study day, day 1 = REFDT, no day 0
    (reference: the dates of the hand-built case: 2024-01-01 + 41 days = day 42)."""
    ref = pd.Timestamp("2024-01-01")
    adtr = pd.DataFrame({"USUBJID": ["S-2", "S-1"], "REFDT": ref})
    discordant = pd.DataFrame({"USUBJID": ["S-2", "S-1", "S-1"], "ADT": ref + pd.to_timedelta([41, 83, 41], unit="D"),
                               "derived": ["PD", "PR", "SD"], "investigator": ["SD", "SD", "PR"],
                               "SDIAM": [50.0, 30.0, np.nan], "PCHG": [10.0, -35.0, np.nan],
                               "PCHGNAD": [25.0, 0.0, np.nan]})
    listing = efficacy.discordance_listing(discordant, adtr)
    assert listing.index.names == ["Subject", "Study day"]
    assert listing.index.tolist() == [("S-1", 42), ("S-1", 84), ("S-2", 42)]
    assert listing.loc[("S-1", 42), ["Target", "Sum (mm)"]].tolist() == ["", ""]  # blank, not NaN / None
    adam = {"adsl": pd.DataFrame({"USUBJID": ["S-1", "S-2", "S-3"]})}
    masked = efficacy.discordance_listing(discordant, adtr, ids=_run(adam, mask=True).subject_ids)
    assert masked.index.get_level_values(0).tolist() == ["Subject 001", "Subject 001", "Subject 002"]


def test_median_followup_reverse_km_lung():
    """Reverse Kaplan-Meier median follow-up on lung: 588 days (methods.md §2.2)."""
    from lifelines.datasets import load_lung

    lung = load_lung()
    data = pd.DataFrame({"AVAL": lung["time"], "EVENT": lung["status"]})
    assert efficacy.median_followup(data)[0] * efficacy.DAYS_PER_MONTH == pytest.approx(588)


def test_swimmer_data_events_are_study_days(demo):
    params, adam = demo
    treated = efficacy.flagged_subjects(adam["adsl"], "SAFFL")
    bars, events = efficacy.swimmer_data(adam["adsl"], adam["adrs"], treated)
    assert len(bars) == len(treated)
    pd_days = adam["adtte"].query("PARAMCD == 'PFS' and EVNTDESC == 'Disease progression'")
    progression = events[events["EVENT"].eq("Progression")]
    assert len(progression) >= len(pd_days)
    assert np.all(progression["DAY"] >= 1)


def test_limit_subjects_keeps_the_top_ranked_and_says_so():
    data = pd.DataFrame({"USUBJID": ["A", "A", "B", "C", "D"], "X": range(5)})
    order = pd.Series({"A": 5, "B": 9, "C": 1, "D": 9})
    kept, note = efficacy.limit_subjects(data, order, 2)
    assert sorted(kept["USUBJID"].unique()) == ["B", "D"] and note == "Showing 2 of 4 subjects"
    same, none = efficacy.limit_subjects(data, order, 10)
    assert len(same) == 5 and none == ""


def test_km_analysis_by_group_matches_r_lung_by_sex():
    """R survfit(Surv(time, status) ~ sex, lung): medians 270 (sex 1) and 426 (sex 2) days; the
    Total column equals the pooled median 310; numbers at risk equal a plain count."""
    from lifelines.datasets import load_lung

    lung = load_lung()
    data = pd.DataFrame({"AVAL": lung["time"], "EVENT": lung["status"], "SEX": lung["sex"].astype(int).astype(str)})
    km = efficacy.km_analysis(data, "SEX", "log", 0.05, (6,))
    assert km["medians"] == pytest.approx({"1": 270, "2": 426})
    total = km["summaries"]["Total"].set_index("statistic").loc["Median (months)"]
    assert total["value"] * efficacy.DAYS_PER_MONTH == pytest.approx(310)
    day = km["at_risk"].columns[2]
    assert km["at_risk"].loc["1", day] == int((data.loc[data["SEX"].eq("1"), "AVAL"] >= day).sum())


def test_responder_durations_have_no_naive_median_of_censored_durations():
    """Issue 13: the median of observed DoR times ignores censoring, so DoR gets counts only (its
    median is the Kaplan-Meier one of km_section); TTR, observed in every responder, keeps its
    median (min, max). Reference: numpy median/min/max of the TTR days / 30.4375 and plain
    counts of EVENT."""
    dor = pd.DataFrame({"USUBJID": ["A", "B", "C"], "AVAL": [30.4375, 60.875, 91.3125], "EVENT": [1, 0, 1]})
    ttr = pd.DataFrame({"USUBJID": ["A", "B", "C"], "AVAL": [43.0, 43.0, 85.0], "EVENT": [1, 1, 1]})
    table = efficacy.responder_durations(dor, ttr)
    median = "Observed median (min, max), months"
    assert table.loc[median, "Duration of response"] == "Kaplan–Meier median below"
    months = ttr["AVAL"] / 30.4375
    assert table.loc[median, "Time to response"] == (f"{np.median(months):.1f} ({months.min():.1f}, "
                                                      f"{months.max():.1f})") == "1.4 (1.4, 2.8)"
    assert table.loc["Events (progression or death)", "Duration of response"] == "2"
    assert table.loc["Censored", "Duration of response"] == "1"
    assert table.loc["Responders", "Time to response"] == "3"
    assert not any(any(c.isdigit() for c in v) for v in table.loc[[median], "Duration of response"])
    assert efficacy.responder_durations(dor.iloc[:0], ttr.iloc[:0]).loc[median].tolist() == ["-", "-"]


def test_responder_listing_flags_censoring_and_names_subjects():
    """Per-responder DoR with its censoring: "+" and the ADTTE censoring reason when CNSR = 1,
    the event otherwise (reference: the hand-built ADTTE rows: 60.875 days = 2.0 months)."""
    dor = pd.DataFrame({"USUBJID": ["S-2", "S-1"], "AVAL": [60.875, 91.3125], "EVENT": [0, 1],
                        "EVNTDESC": ["", "Disease progression"], "CNSDTDSC": ["Alive without progression", ""]})
    ttr = pd.DataFrame({"USUBJID": ["S-1", "S-2"], "AVAL": [43.0, 85.0], "EVENT": [1, 1]})
    listing = efficacy.responder_listing(dor, ttr)
    assert listing.index.tolist() == ["S-1", "S-2"] and listing.index.name == "Subject"
    assert listing["Duration of response (months)"].tolist() == ["3.0", "2.0+"]
    assert listing["Censored"].tolist() == ["N", "Y"]
    assert listing["Event or censoring reason"].tolist() == ["Disease progression", "Alive without progression"]
    assert listing["Time to response (months)"].tolist() == ["1.4", "2.8"]
    adam = {"adsl": pd.DataFrame({"USUBJID": ["S-1", "S-2"]})}
    masked = efficacy.responder_listing(dor, ttr, _run(adam, mask=True).subject_ids)
    assert masked.index.tolist() == ["Subject 001", "Subject 002"]
    assert efficacy.responder_listing(dor.iloc[:0], ttr.iloc[:0]).empty


def test_ci_level_printed_from_alpha():
    """Reference: the definition of a two-sided 100 (1 - alpha) % interval."""
    assert [efficacy.ci_level(a) for a in (0.05, 0.1, 0.025, 0.2)] == ["95%", "90%", "97.5%", "80%"]


def test_response_table_ci_label_and_limits_follow_alpha(demo):
    """alpha 0.1: the rows say "[90% CI]" and the limits are statsmodels' Clopper-Pearson 90 %
    interval (reference); no "95%" anywhere in the table."""
    params, adam = demo
    subjects = efficacy.flagged_subjects(adam["adsl"], "EFFFL")
    table = efficacy.response_table(adam["adrs"], subjects, 0.1, 0.05)
    assert "ORR, n (%) [90% CI]" in table.index and "95%" not in table.to_string()
    rates = efficacy.response_rates(adam["adrs"], subjects, 0.1)
    low, high = proportion_confint(rates.iloc[0]["responders"], rates.iloc[0]["n"], alpha=0.1, method="beta")
    cell = table.loc["ORR, n (%) [90% CI]"].iloc[0]
    assert cell.endswith(f"[{100 * low:.1f}, {100 * high:.1f}]"), cell


def test_followup_text_level_from_alpha():
    """Median follow-up line: reverse KM median of lung, 588 days (methods.md §2.2) = 19.3 months,
    with the CI level of alpha (0.1 -> 90%), never a fixed 95%."""
    from lifelines.datasets import load_lung

    lung = load_lung()
    data = pd.DataFrame({"AVAL": lung["time"], "EVENT": lung["status"]})
    text = efficacy.followup_text(data, "log-log", 0.1)
    assert text.startswith("**Median follow-up (reverse Kaplan–Meier):** 19.3 months (90% CI ")
    assert "95%" not in text


def _lung_adtte():
    from lifelines.datasets import load_lung

    lung = load_lung()
    ids = [f"L-{i:03d}" for i in range(len(lung))]
    adtte = pd.DataFrame({"USUBJID": ids, "PARAMCD": "OS", "AVAL": lung["time"], "CNSR": 1 - lung["status"],
                          "EVNTDESC": np.where(lung["status"].eq(1), "Death", ""),
                          "CNSDTDSC": np.where(lung["status"].eq(1), "", "Alive at last contact")})
    return adtte, pd.DataFrame({"USUBJID": ids})


def test_km_section_axis_names_origin_in_months_and_ci_from_alpha():
    """Issue 13: with efficacy reference RANDDT the time axis reads "Months since randomisation"
    (Run.time_origin -> time_label); the CI band's legend and the summary carry the level of
    alpha (0.1 -> 90%). Reference: R survfit on lung, median 310 days = 10.2 months; curve x in
    days / 30.4375."""
    adtte, subjects = _lung_adtte()
    run = _run({"adsl": subjects}, mask=False, reference="TRTSDT", eff_reference="RANDDT", alpha=0.1)
    assert run.time_origin == "randomisation"
    section = efficacy_page.km_section(adtte, subjects, "OS", run.params["efficacy"], ylabel="Overall survival",
                                  xlabel=efficacy.time_label(run.time_origin))
    ax = section["figure"].axes[0]
    assert ax.get_xlabel() == "Months since randomisation"
    assert "90% CI (log-log)" in [t.get_text() for t in ax.get_legend().get_texts()]
    summary = section["summary"]
    assert "Median (months) [90% CI]" in summary.index and "95%" not in summary.to_string()
    assert summary.loc["Median (months) [90% CI]", "All subjects"].startswith("10.2 [")
    curve = next(ln for ln in ax.lines if ln.get_label() == "All subjects")
    assert curve.get_xdata().max() == pytest.approx(adtte["AVAL"].max() / (365.25 / 12))
    assert section["censoring"].iloc[:, 0].map(lambda c: int(c.split(" ")[0])).sum() == len(adtte)
    assert efficacy_page.km_section(adtte, subjects, "PFS", run.params["efficacy"], ylabel="", xlabel="") is None
    import matplotlib.pyplot as plt

    plt.close("all")


def test_time_origin_words_follow_reference_date(demo):
    """Reference: the ADSL date named by efficacy.reference_date (else adsl.reference_date):
    TRTSDT -> first dose, RANDDT -> randomisation; the month is 365.25 / 12 days everywhere."""
    params, adam = demo
    assert efficacy.time_label(_run(adam, False, "TRTSDT").time_origin) == "Months since first dose"
    assert efficacy.time_label(_run(adam, False, "RANDDT").time_origin) == "Months since randomisation"
    assert efficacy.time_label(_run(adam, False, "TRTSDT", "RANDDT").time_origin) == "Months since randomisation"
    from mpmlib.plots import efficacy as plots_efficacy

    assert efficacy.DAYS_PER_MONTH == 365.25 / 12 == plots_efficacy.DAYS_PER_MONTH


def test_method_notes_say_the_settings_used():
    """The page's rule sentences come from the parameters (reference: the values set here), not
    from fixed text ("4 weeks", "6 weeks", "95%")."""
    from mpmlib.settings.load import DEFAULTS

    eff = {**DEFAULTS["efficacy"], "confirmation_days": 35, "sd_min_days": 56, "alpha": 0.1,
           "missed_assessments": None, "new_therapy_censoring": False, "dor_response": "RSP"}
    notes = efficacy_page.method_notes(eff, "randomisation")
    text = " ".join(notes.values())
    assert "at least 35 days later" in notes["response"]
    assert "at least 56 days after randomisation" in notes["response"]
    assert "90% confidence intervals" in notes["response"]
    assert "null rate of 5.0%" in notes["response"]
    assert "New anticancer therapy is not a censoring reason" in notes["pfs"]
    assert "missed assessments are not censored" in notes["pfs"]
    assert "unconfirmed" in notes["dor"] and "new anticancer therapy" not in notes["dor"]
    assert not any(s in text for s in ("4 weeks", "6 weeks", "95%"))
    default = efficacy_page.method_notes(DEFAULTS["efficacy"], "first dose")
    assert "after 2 or more missed assessments" in default["pfs"] and "95% confidence" in default["response"]


def test_header_text_escapes_parameter_text_and_names_criteria():
    """Text from the parameter file is escaped for Markdown (reference: tables.md_text); the
    criteria and assessor come from efficacy.evaluator, the origin from Run.time_origin."""
    from mpmlib.settings.load import DEFAULTS
    from mpmlib.tables.format import md_text

    title = "<b>Trial_*x*</b>"
    params = {"study": {"title": title}, "data_cutoff": None, "adsl": {"reference_date": "RANDDT"},
              "efficacy": {**DEFAULTS["efficacy"], "evaluator": "INDEPENDENT ASSESSOR"}}
    subjects = pd.DataFrame({"USUBJID": ["A", "B"]})
    text = efficacy_page.header_text(params, subjects.iloc[:1], subjects, "randomisation")
    assert f"**Study:** {md_text(title)}" in text and "<b>" not in text
    assert "RECIST 1.1" in text and "Independent Assessor" in text
    assert "N = 1 of 2 treated" in text and "randomisation (ADSL RANDDT)" in text


def test_spider_data_in_months_since_origin():
    """Reference: (ADT - REFDT) days / 30.4375; baseline at 0."""
    ref = pd.Timestamp("2024-01-01")
    adtr = pd.DataFrame({"USUBJID": "A", "ADT": [ref, ref + pd.Timedelta(days=61)], "REFDT": ref,
                         "PCHG": [0.0, -40.0], "ABLFL": ["Y", ""], "ANL01FL": ["", "Y"]})
    adrs = pd.DataFrame({"USUBJID": ["A"], "PARAMCD": ["CBOR"], "AVALC": ["PR"]})
    spider = efficacy.spider_data(adtr, adrs, pd.DataFrame({"USUBJID": ["A"]}))
    assert spider["MONTH"].tolist() == pytest.approx([0, 61 / 30.4375])


def test_swimmer_bars_start_at_first_dose_on_the_randomisation_axis():
    """With origin RANDDT the bar starts TRTSDT - RANDDT days after the origin and events are days
    from RANDDT, day 1 = RANDDT (reference: the hand-built dates)."""
    adsl = pd.DataFrame({"USUBJID": ["A"], "RANDDT": pd.Timestamp("2024-01-01"), "TRTSDT": pd.Timestamp("2024-01-11"),
                         "TTEREFDT": pd.Timestamp("2024-01-11"), "TRTDURD": [100]})
    adrs = pd.DataFrame({"USUBJID": ["A", "A"], "PARAMCD": ["CBOR", "PD"], "AVALC": ["PD", "Y"],
                         "ADT": [pd.NaT, pd.Timestamp("2024-03-01")]})
    bars, events = efficacy.swimmer_data(adsl, adrs, adsl, "RANDDT")
    assert bars["START"].tolist() == [10] and bars["DURATION"].tolist() == [100]
    assert events["DAY"].tolist() == [61]
    bars, events = efficacy.swimmer_data(adsl, adrs, adsl)
    assert bars["START"].tolist() == [0] and events["DAY"].tolist() == [51]


def test_notebook_is_generic_and_parameter_driven():
    """Issue 13 page rules on the notebook source itself (reference: the issue's list): a generic
    title, no trial specifics or fixed intervals / CI levels in its text, code cells of at most
    15 lines (logic in mpmlib)."""
    from mpmlib.settings.load import PROJECT_ROOT

    source = (PROJECT_ROOT / "notebooks" / "20_efficacy.py").read_text()
    cells = source.split("# %%")[1:]
    markdown = "".join(c for c in cells if c.startswith(" [markdown]"))
    assert "# # Efficacy: tumour response, progression-free and overall survival\n" in markdown
    for fixed in ("H101", "mesothelioma", "MPM", "toripalimab", "PD-1", "4 weeks", "6 weeks", "95%", "running number"):
        assert fixed not in source, fixed
    for cell in cells:
        if not cell.startswith(" [markdown]"):
            lines = cell.rstrip("\n").split("\n")[1:]
            assert len(lines) <= 15, lines[0]
    assert "def km_section" not in source


def test_best_response_nd_is_counted_once_as_not_evaluable():
    """A subject with only ND assessments is in the NE row of the response table and in the
    not-evaluable listing; every subject is in exactly one BOR row (reference: a plain count of
    the subjects, 3). An old ADRS still carrying BOR "ND" is shown as NE as well; an unknown
    best response is a DataError instead of a silent loss."""
    from mpmlib.errors import DataError

    adsl = pd.DataFrame({"USUBJID": ["A", "B", "C"], "TTEREFDT": pd.Timestamp("2024-01-01"), "DTHDT": pd.NaT})
    rs = pd.DataFrame({"USUBJID": ["A", "B", "B"], "RSTESTCD": "OVRLRESP", "RSSTRESC": ["ND", "PR", "PR"],
                       "RSDTC": ["2024-02-15", "2024-02-15", "2024-03-30"]})
    adrs = derive_adrs(adsl, rs)
    table = efficacy.response_table(adrs, adsl)
    for column in table.columns:
        counts = {label: int(table.loc[label, column].split(" ")[0]) for _, label in efficacy.BOR_ROWS}
        assert sum(counts.values()) == 3
        assert counts["Not evaluable (NE)"] == 1 and counts["No post-baseline assessment"] == 1
    listing = efficacy.not_evaluable_listing(adrs, adsl)
    assert sorted(listing["Confirmed BOR"]) == ["MISSING", "NE"]
    old = adrs.copy()
    old.loc[old["PARAMCD"].isin(["BOR", "CBOR"]) & old["USUBJID"].eq("A"), ["AVALC", "AVAL"]] = ["ND", np.nan]
    assert efficacy.best_response_by_subject(old, adsl).to_dict() == {"A": "NE", "B": "PR", "C": "MISSING"}
    old.loc[old["PARAMCD"].eq("CBOR") & old["USUBJID"].eq("A"), "AVALC"] = "UNKNOWN"
    with pytest.raises(DataError, match=r"ADRS\.AVALC \(PARAMCD=CBOR\).*USUBJID: A"):
        efficacy.response_table(old, adsl)


def test_settings_table_names_every_efficacy_parameter_with_its_rule():
    """The methods section lists every efficacy parameter the run used, its value as given and
    the rule it controls (a parameter without a rule text would be unexplained to a reviewer)."""
    from mpmlib.settings.load import PROJECT_ROOT, load_params

    eff = load_params(PROJECT_ROOT / "params" / "demo.yaml")["efficacy"]
    table = efficacy_page.settings_table(eff).reset_index()
    assert table["Parameter"].tolist() == [key for key, _ in eff.items()]
    assert table["Rule"].str.len().gt(0).all(), table.loc[table["Rule"].eq(""), "Parameter"].tolist()
    assert table.set_index("Parameter")["Value"].to_dict() == {k: "-" if v is None else str(v) for k, v in eff.items()}
