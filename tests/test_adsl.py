"""ADSL derivations.

References:
* CDISC pilot (CDISCPILOT01): published safety population by planned arm, Placebo 86 /
  Xanomeline Low Dose 84 / Xanomeline High Dose 84; pilot ADaM ADSL TRTSDT.
* pharmaverseadam ``adsl`` (admiral ``ad_adsl.R`` on pharmaversesdtm): TRTSDT, TRTEDT, TRTDURD,
  RANDDT, DTHDT, SAFFL record-for-record; LSTALVDT uses fewer sources there (AE, LB, TRTEDT), so
  ours must be on or after theirs; ``adrs_onco`` MDIS (measurable disease) for EFFFL.
* Hand-checked edge cases on a five-subject SDTM built below (dates worked out by hand).
* Baseline laboratory values and the NLR (``merge_lab_baseline``): hand-computed cases (the
  ADaMIG / admiral ``ABLFL`` rule: last non-missing value on or before the first dose), and on
  the demo data the generator's own SDTM ``LBBLFL`` (computed independently in mpmlib.synth.trial)
  and a plain-pandas same-sample ratio. Neither the CDISC pilot nor pharmaversesdtm in
  ../shared/external has LB (cdiscpilot01/SOURCE.md: lb.xpt not included), so there is no
  public ADaM baseline to compare with; the pilot only checks that LB absent gives missing.
"""

import numpy as np
import pandas as pd
import pytest

from mpmlib.derive import derive_adex, derive_adsl
from mpmlib.errors import DataError
from mpmlib.settings.load import DEFAULTS, load_params
from tests.conftest import read_rda


def adsl_params(**overrides):
    params = {**DEFAULTS["adsl"], "study_drugs": {"H101": ["H101"], "PD1": ["TORIPALIMAB"]}}
    params.update(overrides)
    return params


# ---- external references ------------------------------------------------------------------------

def test_pilot_safety_population_by_planned_arm(pilot_sdtm, project_root):
    params = load_params(project_root / "params" / "cdiscpilot01.yaml")
    adsl = derive_adsl(pilot_sdtm, params["adsl"])
    assert len(adsl) == 306 and adsl["ENRLFL"].eq("Y").sum() == 254
    counts = adsl[adsl["SAFFL"].eq("Y")]["TRT01P"].value_counts().to_dict()
    assert counts == {"Placebo": 86, "Xanomeline Low Dose": 84, "Xanomeline High Dose": 84}


def test_pilot_trtsdt_matches_pilot_adam(pilot_sdtm, project_root):
    from mpmlib.sdtm.read import read_domain
    from tests.conftest import external

    params = load_params(project_root / "params" / "cdiscpilot01.yaml")
    adsl = derive_adsl(pilot_sdtm, params["adsl"]).set_index("USUBJID")
    ref = read_domain(external("cdiscpilot01", "adam", "adsl.xpt"), "ADSL").set_index("USUBJID")
    ours = adsl.loc[ref.index]
    assert (ours["TRTSDT"] == pd.to_datetime(ref["TRTSDT"])).all()
    assert (ours["SAFFL"] == ref["SAFFL"]).all()


def test_pharmaverse_adsl_matches_admiral(pharmaverse_sdtm, pharmaverse_params):
    adsl = derive_adsl(pharmaverse_sdtm, pharmaverse_params["adsl"]).set_index("USUBJID")
    ref = read_rda("pharmaverseadam", "adsl.rda").set_index("USUBJID")
    assert sorted(adsl.index) == sorted(ref.index)
    ours = adsl.loc[ref.index]
    for var in ("TRTSDT", "TRTEDT", "RANDDT", "DTHDT"):
        pd.testing.assert_series_equal(ours[var], pd.to_datetime(ref[var]), check_names=False)
    pd.testing.assert_series_equal(ours["TRTDURD"], ref["TRTDURD"].astype(float), check_names=False)
    assert (ours["SAFFL"] == ref["SAFFL"]).all()
    assert (ours["DTHFL"].fillna("") == ref["DTHFL"].fillna("")).all()
    has_ref = ref["LSTALVDT"].notna()
    assert (ours.loc[has_ref, "LSTALVDT"] >= pd.to_datetime(ref.loc[has_ref, "LSTALVDT"])).all()
    assert ours["LSTALVDT"].notna().all()


def test_pharmaverse_measurable_disease_matches_adrs_mdis(pharmaverse_sdtm, pharmaverse_params):
    adsl = derive_adsl(pharmaverse_sdtm, pharmaverse_params["adsl"])
    adrs = read_rda("pharmaverseadam", "adrs_onco.rda")
    mdis = set(adrs[(adrs["PARAMCD"] == "MDIS") & (adrs["AVALC"] == "Y")]["USUBJID"])
    assert len(mdis) == 6
    assert set(adsl.loc[adsl["MDISFL"].eq("Y"), "USUBJID"]) == mdis
    assert set(adsl.loc[adsl["EFFFL"].eq("Y"), "USUBJID"]) == mdis


# ---- hand-checked edge cases ---------------------------------------------------------------------

@pytest.fixture
def tiny_sdtm():
    """S1 complete course; S2 enrolled, never dosed; S3 died (partial date "2024-05") with a
    tumour scan after the death date; S4 screen failure; S5 partial AE start date is the last contact."""
    dm = pd.DataFrame({
        "STUDYID": "T", "USUBJID": ["S1", "S2", "S3", "S4", "S5"],
        "ARMCD": ["H101TORI", "H101TORI", "H101TORI", "SCRNFAIL", "H101TORI"],
        "ARM": ["H101 + Toripalimab"] * 3 + ["Screen Failure", "H101 + Toripalimab"],
        "ACTARMCD": ["H101TORI", "NOTTRT", "H101TORI", "SCRNFAIL", "H101TORI"],
        "ACTARM": ["H101 + Toripalimab", "Assigned, Not Treated", "H101 + Toripalimab", "Screen Failure",
                   "H101 + Toripalimab"],
        "RFICDTC": ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05", "2024-01-06"],
        "RFSTDTC": ["2024-01-10", np.nan, "2024-01-12", np.nan, "2024-01-15"],
        "DTHDTC": [np.nan, np.nan, "2024-05", np.nan, np.nan],
        "DTHFL": [np.nan, np.nan, "Y", np.nan, np.nan],
        "AGE": [64.0, 70.0, 58.0, 61.0, 65.0], "SEX": ["M", "F", "M", "M", "F"],
    })
    ex = pd.DataFrame({
        "USUBJID": ["S1", "S1", "S1", "S3", "S3", "S5"],
        "EXTRT": ["H101", "H101", "TORIPALIMAB", "H101", "TORIPALIMAB", "TORIPALIMAB"],
        "EXDOSE": [1e12, 1e12, 240.0, 1e12, 240.0, 240.0],
        "EXROUTE": ["INTRATUMOR", "INTRATUMOR", "INTRAVENOUS", "INTRAPLEURAL", "INTRAVENOUS", "INTRAVENOUS"],
        "EXSTDTC": ["2024-01-10", "2024-01-12", "2024-02-21", "2024-01-12", "2024-01-12", "2024-01-15"],
        "EXENDTC": ["2024-01-10", np.nan, "2024-02-21", "2024-01-12", "2024-01-12", "2024-01-15"],
    })
    rs = pd.DataFrame({"USUBJID": ["S1", "S3", "S3"], "RSDTC": ["2024-03-20", "2024-04-20", "2024-06-10"]})
    ae = pd.DataFrame({"USUBJID": ["S5", "S3"], "AESTDTC": ["2024-06", "2024-04-01"],
                       "AEENDTC": [np.nan, "2024-04-03"], "AEOUT": [np.nan, "RECOVERED/RESOLVED"]})
    ds = pd.DataFrame({
        "USUBJID": ["S2", "S3", "S4"], "DSCAT": "DISPOSITION EVENT",
        "DSSCAT": ["END OF STUDY", "END OF STUDY", np.nan],
        "DSDECOD": ["WITHDRAWAL BY SUBJECT", "DEATH", "SCREEN FAILURE"],
        "DSSTDTC": ["2024-01-09", "2024-05", "2024-01-20"],
    })
    suppdm = pd.DataFrame({"USUBJID": ["S1", "S3", "S5"], "QNAM": "PDL1TPS", "QVAL": ["5", "0", "60"]})
    return {"dm": dm, "ex": ex, "rs": rs, "ae": ae, "ds": ds, "suppdm": suppdm}


def derive_tiny(sdtm, **overrides):
    covariates = {"PDL1TPS": {"source": "SUPPDM", "qnam": "PDL1TPS", "type": "number"},
                  "H101RTE": {"source": "EX", "drug": ["H101"], "variable": "EXROUTE"}}
    return derive_adsl(sdtm, adsl_params(covariates=covariates, **overrides), "2024-12-31").set_index("USUBJID")


def test_every_dm_subject_has_one_row_and_flags(tiny_sdtm):
    adsl = derive_tiny(tiny_sdtm)
    assert list(adsl.index) == ["S1", "S2", "S3", "S4", "S5"]
    assert adsl["ENRLFL"].tolist() == ["Y", "Y", "Y", "N", "Y"]
    assert adsl["SAFFL"].tolist() == ["Y", "N", "Y", "N", "Y"]
    assert adsl["EFFFL"].tolist() == ["N"] * 5                       # no TU at all -> no measurable disease


def test_subject_never_dosed(tiny_sdtm):
    s2 = derive_tiny(tiny_sdtm).loc["S2"]
    assert s2["ENRLFL"] == "Y" and s2["SAFFL"] == "N"
    assert pd.isna(s2["TRTSDT"]) and pd.isna(s2["TRT01A"]) and s2["TRT01P"] == "H101 + Toripalimab"
    assert s2["EOSSTT"] == "DISCONTINUED" and s2["DCSREAS"] == "WITHDRAWAL BY SUBJECT"
    assert s2["LSTALVDT"] == pd.Timestamp("2024-01-09")            # DS withdrawal date, later than consent


def test_treatment_dates_per_drug_and_missing_end_date(tiny_sdtm):
    s1 = derive_tiny(tiny_sdtm).loc["S1"]
    assert s1["H101SDT"] == pd.Timestamp("2024-01-10")
    assert s1["H101EDT"] == pd.Timestamp("2024-01-12")             # EXENDTC blank -> single-day dose
    assert s1["PD1SDT"] == s1["PD1EDT"] == pd.Timestamp("2024-02-21")
    assert s1["TRTSDT"] == pd.Timestamp("2024-01-10") and s1["TRTEDT"] == pd.Timestamp("2024-02-21")
    assert s1["TRTDURD"] == 43                                      # 2024-01-10 .. 02-21 inclusive
    admiral_rule = derive_tiny(tiny_sdtm, ex_missing_end="ignore").loc["S1"]
    assert admiral_rule["H101EDT"] == pd.Timestamp("2024-01-10")


def test_death_partial_date_and_scan_after_death(tiny_sdtm):
    """DTHDTC "2024-05" -> first of month, 2024-05-01 (no contact inside May). The RS record dated
    2024-06-10, after the death month, stays the last alive contact: ADSL reports the data as
    delivered; the contradiction is a QC finding, and it does not move the death date."""
    s3 = derive_tiny(tiny_sdtm).loc["S3"]
    assert s3["DTHFL"] == "Y" and s3["DTHDTF"] == "D"
    assert s3["DTHDT"] == pd.Timestamp("2024-05-01")
    assert s3["LSTALVDT"] == pd.Timestamp("2024-06-10") and s3["LALVDOM"] == "RS"
    assert s3["EOSSTT"] == "DISCONTINUED" and s3["DCSREAS"] == "DEATH"


def test_partial_death_date_never_before_last_alive_contact(tiny_sdtm):
    tiny_sdtm["rs"].loc[2, "RSDTC"] = "2024-05-10"                 # alive on 10 May, died "2024-05"
    s3 = derive_tiny(tiny_sdtm).loc["S3"]
    assert s3["DTHDT"] == pd.Timestamp("2024-05-10")


def test_partial_contact_date_counts_from_first_day(tiny_sdtm):
    s5 = derive_tiny(tiny_sdtm).loc["S5"]
    assert s5["LSTALVDT"] == pd.Timestamp("2024-06-01") and s5["LALVVAR"] == "AESTDTC"


def test_covariates_from_suppdm_and_ex(tiny_sdtm):
    adsl = derive_tiny(tiny_sdtm)
    assert adsl.loc["S1", "PDL1TPS"] == 5.0 and adsl.loc["S3", "PDL1TPS"] == 0.0
    assert pd.isna(adsl.loc["S2", "PDL1TPS"]) and adsl.loc["S5", "PDL1TPS"] == 60.0
    assert adsl.loc["S1", "H101RTE"] == "INTRATUMOR" and adsl.loc["S3", "H101RTE"] == "INTRAPLEURAL"
    assert pd.isna(adsl.loc["S5", "H101RTE"])                      # never received H101


def test_reference_date_parameter(tiny_sdtm):
    tiny_sdtm["ds"] = pd.concat([tiny_sdtm["ds"], pd.DataFrame({
        "USUBJID": ["S1"], "DSCAT": ["PROTOCOL MILESTONE"], "DSDECOD": ["RANDOMIZED"], "DSSTDTC": ["2024-01-08"]})])
    assert derive_tiny(tiny_sdtm).loc["S1", "TTEREFDT"] == pd.Timestamp("2024-01-10")
    assert derive_tiny(tiny_sdtm, reference_date="RANDDT").loc["S1", "TTEREFDT"] == pd.Timestamp("2024-01-08")


# ---- bad input ---------------------------------------------------------------------------------

def test_subject_not_in_dm_is_an_error(tiny_sdtm):
    tiny_sdtm["ae"].loc[0, "USUBJID"] = "S9"
    with pytest.raises(DataError, match=r"^AE.USUBJID: subject not in DM \[USUBJID: S9\]"):
        derive_tiny(tiny_sdtm)


def test_duplicate_subject_in_dm(tiny_sdtm):
    tiny_sdtm["dm"] = pd.concat([tiny_sdtm["dm"], tiny_sdtm["dm"].iloc[[0]]])
    with pytest.raises(DataError, match=r"DM.USUBJID: subject appears more than once \[USUBJID: S1\]"):
        derive_tiny(tiny_sdtm)


def test_missing_dm_and_missing_required_variable(tiny_sdtm):
    with pytest.raises(DataError, match="DM: required domain is missing"):
        derive_tiny({k: v for k, v in tiny_sdtm.items() if k != "dm"})
    tiny_sdtm["dm"] = tiny_sdtm["dm"].drop(columns="ARMCD")
    with pytest.raises(DataError, match="DM.ARMCD: required variable is missing"):
        derive_tiny(tiny_sdtm)


def test_impossible_dose_date(tiny_sdtm):
    tiny_sdtm["ex"].loc[0, "EXSTDTC"] = "2024-02-30"
    with pytest.raises(DataError, match=r"EX.EXSTDTC: not a valid ISO 8601 date.*S1"):
        derive_tiny(tiny_sdtm)


def test_non_numeric_covariate(tiny_sdtm):
    tiny_sdtm["suppdm"].loc[0, "QVAL"] = "<1%"
    with pytest.raises(DataError, match=r"SUPPDM.QVAL \(QNAM=PDL1TPS\): must be numeric.*S1"):
        derive_tiny(tiny_sdtm)


# ---- baseline laboratory values (LB) ------------------------------------------------------------

def lb_frame(rows):
    """LB records from (USUBJID, LBTESTCD, LBSTRESN, LBSTRESU, LBDTC) tuples."""
    df = pd.DataFrame(rows, columns=["USUBJID", "LBTESTCD", "LBSTRESN", "LBSTRESU", "LBDTC"])
    df["LBSEQ"] = df.groupby("USUBJID").cumcount() + 1
    return df


@pytest.fixture
def tiny_lb():
    # TRTSDT: S1 2024-01-10, S3 2024-01-12, S5 2024-01-15; S2 never dosed; S4 screen failure
    u = "10^9/L"
    return lb_frame([
        ("S1", "NEUT", 6.0, u, "2024-01-05"), ("S1", "LYM", 1.5, u, "2024-01-05"),
        ("S1", "NEUT", 4.0, u, "2024-01-10"), ("S1", "LYM", 2.0, u, "2024-01-10"),   # first-dose day: baseline
        ("S1", "NEUT", 9.0, u, "2024-01-31"), ("S1", "LYM", 1.0, u, "2024-01-31"),   # after the first dose
        ("S3", "NEUT", 5.0, u, "2024-01-05"), ("S3", "LYM", 1.25, u, "2024-01-05"),
        ("S3", "NEUT", 7.0, u, "2024-01-11"), ("S3", "LYM", np.nan, u, "2024-01-11"),  # lymphocytes not done
        ("S5", "NEUT", 3.0, u, "2024-01-14"), ("S5", "LYM", np.nan, u, "2024-01-14"),
        ("S5", "LYM", 1.0, u, "2024-01"),                                             # partial date: not used
        ("S2", "NEUT", 5.0, u, "2024-01-05"), ("S2", "LYM", 1.0, u, "2024-01-05"),   # never dosed
    ])


def test_lab_baseline_hand_computed(tiny_sdtm, tiny_lb):
    adsl = derive_tiny({**tiny_sdtm, "lb": tiny_lb})
    # S1: the first-dose-day sample is the baseline, the day-21 sample is not
    assert (adsl.loc["S1", "NEUTBL"], adsl.loc["S1", "LYMBL"], adsl.loc["S1", "NLRBL"]) == (4.0, 2.0, 2.0)
    # S3: NEUT baseline is the last non-missing (7.0, 2024-01-11), LYM the earlier 1.25; the NLR
    # comes from one sample (2024-01-05: 5.0 / 1.25 = 4.0, i.e. < 5), not 7.0 / 1.25 = 5.6
    assert (adsl.loc["S3", "NEUTBL"], adsl.loc["S3", "LYMBL"], adsl.loc["S3", "NLRBL"]) == (7.0, 1.25, 4.0)
    # S5: lymphocytes missing (and a partial date does not count) -> LYMBL and NLRBL missing
    assert adsl.loc["S5", "NEUTBL"] == 3.0 and pd.isna(adsl.loc["S5", "LYMBL"]) and pd.isna(adsl.loc["S5", "NLRBL"])
    # S2 never dosed (no baseline), S4 no LB: missing, and every subject keeps its row
    assert adsl.loc[["S2", "S4"], ["NEUTBL", "LYMBL", "ALBBL", "LDHBL", "NLRBL"]].isna().all().all()
    assert len(adsl) == 5 and adsl["ALBBL"].isna().all()


def test_lab_baseline_without_lb_is_missing(tiny_sdtm):
    adsl = derive_tiny(tiny_sdtm)
    assert adsl[["NEUTBL", "LYMBL", "ALBBL", "LDHBL", "NLRBL"]].isna().all().all()


def test_lab_ratio_units_must_agree(tiny_sdtm, tiny_lb):
    tiny_lb.loc[(tiny_lb["USUBJID"] == "S1") & (tiny_lb["LBTESTCD"] == "LYM"), "LBSTRESU"] = "%"
    with pytest.raises(DataError, match=r"^LB.LBSTRESU: NEUT and LYM in different standard units, so NLRBL "
                                        r"cannot be computed \[USUBJID: S1\]"):
        derive_tiny({**tiny_sdtm, "lb": tiny_lb}, lab_baseline={"tests": {}, "ratios": {"NLRBL": ["NEUT", "LYM"]}})
    with pytest.raises(DataError, match=r"LB.LBSTRESU: LBTESTCD=LYM: more than one standard unit .*LYMBL.*S1"):
        derive_tiny({**tiny_sdtm, "lb": tiny_lb})


def test_lab_zero_lymphocytes_and_bad_input(tiny_sdtm, tiny_lb):
    only_ratio = {"tests": {}, "ratios": {"NLRBL": ["NEUT", "LYM"]}}
    zero = tiny_lb.copy()
    zero.loc[(zero["USUBJID"] == "S1") & (zero["LBDTC"] == "2024-01-10") & (zero["LBTESTCD"] == "LYM"), "LBSTRESN"] = 0.0
    with pytest.raises(DataError, match=r"LB.LBSTRESN: LBTESTCD=LYM is 0, so NLRBL cannot be computed.*S1"):
        derive_tiny({**tiny_sdtm, "lb": zero}, lab_baseline=only_ratio)
    bad_date = tiny_lb.copy()
    bad_date.loc[0, "LBDTC"] = "2024-02-30"
    with pytest.raises(DataError, match=r"LB.LBDTC: not a valid ISO 8601 date.*S1"):
        derive_tiny({**tiny_sdtm, "lb": bad_date})
    with pytest.raises(DataError, match=r"LB.LBSTRESN: required variable is missing"):
        derive_tiny({**tiny_sdtm, "lb": tiny_lb.drop(columns="LBSTRESN")})


def test_demo_lab_baseline_matches_sdtm_lbblfl_and_same_sample_ratio(project_root):
    """Demo: each baseline value is the record the generator flagged LBBLFL = Y (SDTMIG 3.3,
    computed independently in mpmlib.synth.trial); NLRBL is NEUT / LYM of the last pre-dose sample
    with both results (plain pandas here); nothing else in ADSL changes when LB is added."""
    from mpmlib.sdtm import read as io

    params = load_params(project_root / "params" / "demo.yaml")
    sdtm = io.read_sdtm(params["sdtm"]["dir"])
    adsl = derive_adsl(sdtm, params["adsl"], params["data_cutoff"]).set_index("USUBJID")
    lb = sdtm["lb"]
    flagged = lb[lb["LBBLFL"].eq("Y")].pivot(index="USUBJID", columns="LBTESTCD", values="LBSTRESN")
    for var, code in params["adsl"]["lab_baseline"]["tests"].items():
        expected = flagged[code].reindex(adsl.index)
        assert np.allclose(adsl[var], expected, equal_nan=True), var
    treated = adsl[adsl["SAFFL"].eq("Y")]
    samples = lb.pivot_table(index=["USUBJID", "LBDTC"], columns="LBTESTCD", values="LBSTRESN").reset_index()
    samples = samples[samples["NEUT"].notna() & samples["LYM"].notna()]
    samples = samples[pd.to_datetime(samples["LBDTC"]) <= samples["USUBJID"].map(adsl["TRTSDT"])]
    last = samples.sort_values("LBDTC").groupby("USUBJID").last()
    assert np.allclose(treated["NLRBL"], (last["NEUT"] / last["LYM"]).reindex(treated.index))
    assert adsl.loc[adsl["SAFFL"].ne("Y"), "NLRBL"].isna().all()
    # 01-0010: NEUT flagged on cycle 1 day 1 where LYM was not done; the NLR is the baseline visit's
    assert adsl.loc["H101-MPM-201-01-0010", "NLRBL"] == pytest.approx(8.72 / 1.66)
    without = derive_adsl({k: v for k, v in sdtm.items() if k != "lb"}, params["adsl"], params["data_cutoff"])
    pd.testing.assert_frame_equal(adsl.reset_index()[without.columns].drop(columns=list(LAB_VARS)),
                                  without.drop(columns=list(LAB_VARS)))


LAB_VARS = ("NEUTBL", "LYMBL", "ALBBL", "LDHBL", "NLRBL")


def test_pilot_has_no_lb_and_gets_missing_lab_baseline(pilot_sdtm, project_root):
    """The CDISC pilot SDTM here has no LB (cdiscpilot01/SOURCE.md); the baseline variables are
    missing for all 306 subjects rather than an error."""
    assert "lb" not in pilot_sdtm
    adsl = derive_adsl(pilot_sdtm, load_params(project_root / "params" / "cdiscpilot01.yaml")["adsl"])
    assert len(adsl) == 306 and adsl[list(LAB_VARS)].isna().all().all()


# ---- ADEX ---------------------------------------------------------------------------------------

def test_adex_counts_every_treated_subject(tiny_sdtm):
    adsl = derive_tiny(tiny_sdtm).reset_index()
    adex = derive_adex(adsl, tiny_sdtm["ex"], adsl_params()["study_drugs"])
    nadmin = adex[adex["PARAMCD"].eq("NADMIN")].pivot(index="USUBJID", columns="PARCAT1", values="AVAL")
    assert nadmin.to_dict() == {"H101": {"S1": 2.0, "S3": 1.0, "S5": 0.0}, "PD1": {"S1": 1.0, "S3": 1.0, "S5": 1.0}}
    durd = adex[adex["PARAMCD"].eq("DURD") & adex["PARCAT1"].eq("H101")].set_index("USUBJID")["AVAL"]
    assert durd["S1"] == 3 and durd["S3"] == 1 and pd.isna(durd["S5"])
