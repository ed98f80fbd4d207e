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

from mpmlib import efficacy
from mpmlib.derive.adrs import derive_adrs
from mpmlib.derive.adtte import derive_adtte


@pytest.fixture(scope="module")
def demo():
    from mpmlib.io import read_sdtm
    from mpmlib.notebook import derive_all
    from mpmlib.params import PROJECT_ROOT, load_params

    params = load_params(PROJECT_ROOT / "params" / "demo.yaml")
    adam = derive_all(read_sdtm(params["sdtm"]["dir"]), params)
    return params, adam


def test_response_table_counts_equal_plain_groupby(demo):
    """Every BOR row of the table equals a plain value_counts of CBOR/BOR over the population;
    the rows add up to N (nobody dropped)."""
    params, adam = demo
    subjects = efficacy.population(adam["adsl"], "EFFFL")
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
    subjects = efficacy.population(adam["adsl"], "EFFFL")
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
    from mpmlib.io import read_domain

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


def test_not_evaluable_listing_has_no_identifiers(demo):
    params, adam = demo
    listing = efficacy.not_evaluable_listing(adam["adrs"], efficacy.population(adam["adsl"], "EFFFL"))
    text = listing.to_string()
    assert not any(s in text for s in adam["adsl"]["USUBJID"])
    assert set(listing["Confirmed BOR"]) <= {"NE", "MISSING"}


def test_median_followup_reverse_km_lung():
    """Reverse Kaplan-Meier median follow-up on lung: 588 days (methods.md §2.2)."""
    from lifelines.datasets import load_lung

    lung = load_lung()
    data = pd.DataFrame({"AVAL": lung["time"], "EVENT": lung["status"]})
    assert efficacy.median_followup(data)[0] * efficacy.DAYS_PER_MONTH == pytest.approx(588)


def test_swimmer_data_events_are_study_days(demo):
    params, adam = demo
    treated = efficacy.population(adam["adsl"], "SAFFL")
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


def test_responder_durations_equal_plain_statistics():
    dor = pd.DataFrame({"AVAL": [30.4375, 60.875, 91.3125], "EVENT": [1, 0, 1]})
    ttr = pd.DataFrame({"AVAL": [43.0, 43.0, 85.0], "EVENT": [1, 1, 1]})
    table = efficacy.responder_durations(dor, ttr)
    assert table.loc["Observed median (min, max), months", "Duration of response"] == "2.0 (1.0, 3.0)"
    assert table.loc["Events (progression or death)", "Duration of response"] == "2"
    assert table.loc["Responders", "Time to response"] == "3"


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
    from mpmlib.params import PROJECT_ROOT, load_params

    eff = load_params(PROJECT_ROOT / "params" / "demo.yaml")["efficacy"]
    table = efficacy.settings_table(eff).reset_index()
    assert table["Parameter"].tolist() == list(eff)
    assert table["Rule"].str.len().gt(0).all(), table.loc[table["Rule"].eq(""), "Parameter"].tolist()
    assert table.set_index("Parameter")["Value"].to_dict() == {k: "-" if v is None else str(v) for k, v in eff.items()}
