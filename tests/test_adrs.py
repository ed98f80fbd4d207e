"""ADRS: RECIST 1.1 best overall response with and without confirmation, and response flags.

References:
* admiralonco ``tests/testthat/test-derive_param_confirmed_bor.R`` golden cases (transcribed in
  ../shared/notes/methods.md §1.4), hand-checked against RECIST 1.1 Table 3;
* pharmaverseadam ``adrs_onco`` (admiralonco template on ``rs_onco_recist``): every parameter,
  subject by subject, value and date;
* admiralonco ``admiral_adrs_8c395ec.rda`` (the template on the full ``rs_onco``): published
  BOR/CBOR counts and subject-level values.
"""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import read_rda
from mpmlib.derive.adrs import derive_adrs, excluded_records

# ---- admiralonco golden cases --------------------------------------------------------------

GOLDEN = {  # subject: (reference date, [(date, response), ...])
    "1": ("2020-01-01", [("2020-01-01", "PR"), ("2020-02-01", "CR"), ("2020-02-16", "NE"),
                         ("2020-03-01", "CR"), ("2020-04-01", "SD")]),
    "2": ("2019-12-12", [("2020-01-01", "SD"), ("2020-02-01", "PR"), ("2020-03-01", "SD"),
                         ("2020-03-13", "CR")]),
    "3": ("2019-11-11", [("2019-11-12", "CR"), ("2019-12-02", "CR"), ("2020-01-01", "SD")]),
    "4": ("2019-12-30", [("2020-01-01", "PR"), ("2020-03-01", "SD"), ("2020-04-01", "SD"),
                         ("2020-05-01", "PR"), ("2020-05-15", "NON-CR/NON-PD")]),
    "5": ("2020-01-01", [("2020-01-01", "PR"), ("2020-01-10", "SD"), ("2020-01-20", "PR"),
                         ("2020-05-15", "NON-CR/NON-PD")]),
    "6": ("2020-02-02", [("2020-02-06", "PR"), ("2020-02-16", "CR"), ("2020-03-30", "PR")]),
    "7": ("2020-02-02", [("2020-02-06", "PR"), ("2020-02-16", "CR"), ("2020-04-01", "NE")]),
    "8": ("2020-04-01", []),
    "9": ("2020-02-01", [("2020-02-16", "PD"), ("2020-03-06", "SD")]),
}


def golden_input():
    adsl = pd.DataFrame({"USUBJID": list(GOLDEN), "TTEREFDT": pd.to_datetime([v[0] for v in GOLDEN.values()]),
                         "DTHDT": pd.NaT})
    rows = [{"USUBJID": s, "RSTESTCD": "OVRLRESP", "RSEVAL": "INVESTIGATOR", "RSSTRESC": r, "RSDTC": d,
             "RSSEQ": i} for s, (_, recs) in GOLDEN.items() for i, (d, r) in enumerate(recs, 1)]
    return adsl, pd.DataFrame(rows)


def best(adrs, paramcd):
    rows = adrs[adrs["PARAMCD"].eq(paramcd)].set_index("USUBJID")
    return {s: (r.AVALC, None if pd.isna(r.ADT) else r.ADT.strftime("%m-%d")) for s, r in rows.iterrows()}


def test_confirmed_bor_golden_cases_test1():
    """admiralonco test 1: SD window 28 days, confirmation 28 days, at most 1 NE, no SD between,
    assessments after the first PD removed (subject 9 shows why)."""
    adsl, rs = golden_input()
    adrs = derive_adrs(adsl, rs, {"sd_min_days": 28, "confirmation_days": 28, "max_ne_between": 1})
    assert best(adrs, "CBOR") == {
        "1": ("CR", "02-01"), "2": ("SD", "02-01"), "3": ("SD", "01-01"), "4": ("SD", "03-01"),
        "5": ("NON-CR/NON-PD", "05-15"), "6": ("SD", "03-30"), "7": ("NE", "02-06"), "8": ("MISSING", None),
        "9": ("PD", "02-16")}


def test_confirmed_bor_golden_cases_test2():
    """admiralonco test 2: confirmation 14 days, no NE allowed, one SD allowed between."""
    adsl, rs = golden_input()
    adrs = derive_adrs(adsl, rs, {"sd_min_days": 28, "confirmation_days": 14, "max_ne_between": 0,
                                  "max_sd_between": 1})
    got = best(adrs, "CBOR")
    assert got["1"] == ("PR", "01-01")      # CR 02-01 not confirmed (an NE before the next CR)
    assert got["2"] == ("PR", "02-01")      # one SD between PR and CR is accepted
    assert got["3"] == ("CR", "11-12")      # 20 days >= 14
    assert got["4"] == ("SD", "03-01")      # two SDs between the PRs: not confirmed
    assert got["9"] == ("PD", "02-16")


def test_unconfirmed_bor_and_flags_on_golden_cases():
    """BOR without confirmation: any CR, then any PR (RECIST 1.1 §4.4 without Table 3)."""
    adsl, rs = golden_input()
    adrs = derive_adrs(adsl, rs, {"sd_min_days": 28})
    bor = best(adrs, "BOR")
    assert {s: v[0] for s, v in bor.items()} == {"1": "CR", "2": "CR", "3": "CR", "4": "PR", "5": "PR", "6": "CR",
                                                 "7": "CR", "8": "MISSING", "9": "PD"}
    pd_flag = best(adrs, "PD")
    assert pd_flag["9"] == ("Y", "02-16") and pd_flag["1"] == ("N", None)
    lsta = best(adrs, "LSTA")
    assert lsta["9"] == ("SD", "03-06")     # last assessment, even after PD (admiralonco derive_param_lasta)


def test_worst_response_on_one_date_and_partial_date():
    """Two responses on one date: the worse counts (PD over SD); a date without day is the last
    day of the month (admiralonco ad_adrs.R); an unknown value is excluded with its reason."""
    adsl = pd.DataFrame({"USUBJID": ["A"], "TTEREFDT": pd.to_datetime(["2024-01-01"]), "DTHDT": pd.NaT})
    rs = pd.DataFrame({"USUBJID": "A", "RSTESTCD": "OVRLRESP", "RSEVAL": "INVESTIGATOR",
                       "RSSTRESC": ["SD", "PD", "CHECK", "SD"], "RSDTC": ["2024-02-15", "2024-02-15", "2024-03-01", "2024-04"],
                       "RSSEQ": [1, 2, 3, 4]})
    adrs = derive_adrs(adsl, rs)
    ovr = adrs[adrs["PARAMCD"].eq("OVR")]
    # RSSEQ 1 SD and 2 PD on 02-15: the PD (worse, admiralonco worst_resp) is used; 3 CHECK is excluded
    assert ovr.set_index("RSSEQ")["ANL01FL"].to_dict() == {1: "", 2: "Y", 3: "", 4: "Y"}
    assert best(adrs, "BOR")["A"] == ("PD", "02-15")
    sd_partial = ovr[ovr["RSSEQ"].eq(4)].iloc[0]
    assert sd_partial["ADT"] == pd.Timestamp("2024-04-30") and sd_partial["ADTF"] == "D"
    excl = excluded_records(adrs)
    assert set(excl["ANLEXCL"]) == {"response value not in RECIST 1.1 terms: CHECK",
                                    "another response on the same date is worse"}


def test_best_response_nd_is_not_evaluable():
    """Only ND (not done) assessments: BOR/CBOR NE with AVAL 6, never ND with AVAL missing (RECIST
    1.1 §4.4: a time point without imaging is NE, Table 3 has no ND; admiralonco's deprecated
    derive_param_confirmed_bor gave ND with AVAL NA, methods.md §1.4 golden test 2, subject 7)."""
    adsl = pd.DataFrame({"USUBJID": ["A", "B"], "TTEREFDT": pd.to_datetime(["2024-01-01"] * 2), "DTHDT": pd.NaT})
    rs = pd.DataFrame({"USUBJID": ["A", "A", "B"], "RSTESTCD": "OVRLRESP", "RSEVAL": "INVESTIGATOR",
                       "RSSTRESC": ["ND", "ND", "PR"], "RSDTC": ["2024-02-15", "2024-04-01", "2024-02-01"],
                       "RSSEQ": [1, 2, 1]})
    adrs = derive_adrs(adsl, rs)
    for paramcd in ("BOR", "CBOR"):
        row = adrs[adrs["PARAMCD"].eq(paramcd) & adrs["USUBJID"].eq("A")].iloc[0]
        assert (row["AVALC"], row["AVAL"], row["ADT"]) == ("NE", 6.0, pd.Timestamp("2024-02-15"))
    assert best(adrs, "CBOR")["B"] == ("NE", "02-01")        # unconfirmed PR before day 42: NE


def test_assessments_after_the_data_cutoff_are_not_used():
    """Cut-off 2024-03-31 (ADSL DCUTDT): the CR of 04-15 and its confirmation are excluded with a
    reason, BOR is the SD of 02-20 (>= 42 days); a death after the cut-off is DEATH = N. Reference:
    hand computation with RECIST 1.1 Table 3; the cut is the one ADTTE applies."""
    adsl = pd.DataFrame({"USUBJID": ["A"], "TTEREFDT": pd.to_datetime(["2024-01-01"]),
                         "DTHDT": pd.to_datetime(["2024-06-01"]), "DCUTDT": pd.Timestamp("2024-03-31")})
    rs = pd.DataFrame({"USUBJID": "A", "RSTESTCD": "OVRLRESP", "RSEVAL": "INVESTIGATOR",
                       "RSSTRESC": ["SD", "CR", "CR"], "RSDTC": ["2024-02-20", "2024-04-15", "2024-05-20"],
                       "RSSEQ": [1, 2, 3]})
    adrs = derive_adrs(adsl, rs)
    assert best(adrs, "BOR")["A"] == ("SD", "02-20") and best(adrs, "CBOR")["A"] == ("SD", "02-20")
    assert best(adrs, "CRSP")["A"] == ("N", None) and best(adrs, "RSP")["A"] == ("N", None)
    assert best(adrs, "LSTA")["A"] == ("SD", "02-20") and best(adrs, "DEATH")["A"] == ("N", None)
    ovr = adrs[adrs["PARAMCD"].eq("OVR")].set_index("RSSEQ")
    assert ovr["ANL01FL"].to_dict() == {1: "Y", 2: "", 3: ""}
    assert excluded_records(adrs)["ANLEXCL"].tolist() == ["after the data cut-off"] * 2
    # without a cut-off the CR counts
    assert best(derive_adrs(adsl.assign(DCUTDT=pd.NaT), rs), "CBOR")["A"] == ("CR", "04-15")


def test_imputed_assessment_day_is_not_after_death():
    """RSDTC "2024-03" (day imputed to the last, 03-31) for a subject who died on 2024-03-12: the
    imputed date is capped at the death date (admiral derive_vars_dt max_dates), so the response
    does not post-date the death; a complete date is never moved. Hand computation."""
    adsl = pd.DataFrame({"USUBJID": ["A", "B"], "TTEREFDT": pd.to_datetime(["2024-01-01"] * 2),
                         "DTHDT": pd.to_datetime(["2024-03-12", "2024-03-12"])})
    rs = pd.DataFrame({"USUBJID": ["A", "A", "B"], "RSTESTCD": "OVRLRESP", "RSEVAL": "INVESTIGATOR",
                       "RSSTRESC": ["SD", "PR", "PR"], "RSDTC": ["2024-02-12", "2024-03", "2024-03-20"],
                       "RSSEQ": [1, 2, 1]})
    ovr = derive_adrs(adsl, rs).query("PARAMCD == 'OVR'").set_index(["USUBJID", "RSSEQ"])
    assert ovr.loc[("A", 2), "ADT"] == pd.Timestamp("2024-03-12") and ovr.loc[("A", 2), "ADTF"] == "D"
    assert ovr.loc[("B", 1), "ADT"] == pd.Timestamp("2024-03-20")      # complete date: left for QC


# ---- pharmaverse references ----------------------------------------------------------------

PARAMS = ["BOR", "CBOR", "RSP", "BCP", "CRSP", "CB", "CCB", "PD", "LSTA", "DEATH"]


def compare(ours: pd.DataFrame, ref: pd.DataFrame, paramcd: str) -> pd.DataFrame:
    a = ours[ours["PARAMCD"].eq(paramcd)].set_index("USUBJID")[["AVALC", "ADT"]]
    b = ref[ref["PARAMCD"].eq(paramcd)].set_index("USUBJID")[["AVALC", "ADT"]]
    b = b.assign(ADT=pd.to_datetime(b["ADT"]))
    joined = a.join(b, rsuffix="_REF", how="outer")
    same_value = joined["AVALC"].fillna("") == joined["AVALC_REF"].fillna("")
    same_date = joined["ADT"].fillna(pd.Timestamp(0)) == joined["ADT_REF"].fillna(pd.Timestamp(0))
    return joined[~(same_value & same_date)]


@pytest.fixture(scope="module")
def pharmaverse_adsl(pharmaverse_sdtm, pharmaverse_params):
    from mpmlib.derive import derive_adsl

    return derive_adsl(pharmaverse_sdtm, pharmaverse_params["adsl"])


@pytest.mark.parametrize("paramcd", PARAMS)
def test_matches_pharmaverseadam_adrs_onco(pharmaverse_adsl, pharmaverse_sdtm, paramcd):
    """pharmaverseadam adrs_onco, reference date RANDDT: value and date for all 306 subjects."""
    ours = derive_adrs(pharmaverse_adsl, pharmaverse_sdtm["rs"], {"reference_date": "RANDDT"})
    ref = read_rda("pharmaverseadam", "adrs_onco.rda")
    assert ours[ours["PARAMCD"].eq(paramcd)]["USUBJID"].nunique() == 306
    assert compare(ours, ref, paramcd).empty


def test_cbcp_is_correct_where_the_reference_has_a_bug(pharmaverse_adsl, pharmaverse_sdtm):
    """The template's CBCP is N for everyone (it reads ADRS before CBOR exists); 01-701-1118 has
    a confirmed PR, so CBCP is Y here (docs/efficacy-methods.md)."""
    ours = derive_adrs(pharmaverse_adsl, pharmaverse_sdtm["rs"], {"reference_date": "RANDDT"})
    cbcp = ours[ours["PARAMCD"].eq("CBCP") & ours["AVALC"].eq("Y")]
    assert cbcp["USUBJID"].tolist() == ["01-701-1118"]


@pytest.fixture(scope="module")
def full_rs_onco(pharmaverse_adsl):
    from mpmlib.sdtm.read import read_domain

    from conftest import external
    rs = read_domain(external("pharmaversesdtm", "rs_onco.rda"), "rs")
    return derive_adrs(pharmaverse_adsl, rs, {"reference_date": "RANDDT"})


def test_full_rs_onco_counts_match_admiral(full_rs_onco):
    """admiral_adrs_8c395ec: BOR CR 15, PR 37, SD 12, PD 140, NE 1, MISSING 101; CBOR CR 8,
    PR 18, SD 33, PD 144, NE 2, MISSING 101 (../shared/notes/external-data.md §2.2b)."""
    counts = {p: full_rs_onco[full_rs_onco["PARAMCD"].eq(p)]["AVALC"].value_counts().to_dict() for p in ("BOR", "CBOR")}
    assert counts["BOR"] == {"CR": 15, "PR": 37, "SD": 12, "PD": 140, "NE": 1, "MISSING": 101}
    assert counts["CBOR"] == {"CR": 8, "PR": 18, "SD": 33, "PD": 144, "NE": 2, "MISSING": 101}


@pytest.mark.parametrize("paramcd", ["BOR", "CBOR", "RSP", "CRSP", "CB", "CCB", "PD", "LSTA"])
def test_full_rs_onco_subject_by_subject(full_rs_onco, paramcd):
    """Every subject's value (and date) equals admiral_adrs_8c395ec. One known difference: the
    CRSP date of 01-701-1153, where the old template confirmed responses on CR/PR records only
    (admiralonco#245) and so skipped an assessment in between; its CBOR date agrees with ours."""
    ref = read_rda("admiralonco", "admiral_adrs_8c395ec.rda")
    diff = compare(full_rs_onco, ref, paramcd)
    if paramcd == "CRSP":
        assert diff.index.tolist() == ["01-701-1153"]
        assert (diff["AVALC"] == diff["AVALC_REF"]).all()
    else:
        assert diff.empty, diff.head()


def test_full_rs_onco_check_value_excluded_with_reason(full_rs_onco):
    """The one non-RECIST value "CHECK" (01-711-1143) is kept in OVR but not analysed."""
    excl = excluded_records(full_rs_onco)
    check = excl[excl["AVALC"].eq("CHECK")]
    assert check["USUBJID"].tolist() == ["01-711-1143"]


def test_no_new_therapy_categories_means_no_exclusion_as_in_adtte():
    """efficacy.new_therapy_cmcat: [] names no category: ADRS must then exclude nothing, as ADTTE
    censors nothing (the two must use the same new-therapy dates)."""
    from mpmlib.derive.adrs import analysis_limits
    from mpmlib.derive.adtte import new_therapy_dates

    adsl = pd.DataFrame({"USUBJID": ["S1"], "DCUTDT": [pd.Timestamp("2025-01-01")]})
    cm = pd.DataFrame({"USUBJID": ["S1"], "CMCAT": ["SUBSEQUENT ANTI-CANCER THERAPY"], "CMSTDTC": ["2024-05-01"]})
    assert analysis_limits(adsl, cm, {"new_therapy_cmcat": []})["NACTDT"].isna().all()
    assert new_therapy_dates(cm, []).empty
    default = analysis_limits(adsl, cm, {})["NACTDT"].tolist()
    assert default == [pd.Timestamp("2024-05-01")]
