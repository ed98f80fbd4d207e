"""ADSL derivations.

References:
* CDISC pilot (CDISCPILOT01): published safety population by planned arm, Placebo 86 /
  Xanomeline Low Dose 84 / Xanomeline High Dose 84; pilot ADaM ADSL TRTSDT.
* pharmaverseadam ``adsl`` (admiral ``ad_adsl.R`` on pharmaversesdtm): TRTSDT, TRTEDT, TRTDURD,
  RANDDT, DTHDT, SAFFL record-for-record; LSTALVDT uses fewer sources there (AE, LB, TRTEDT), so
  ours must be on or after theirs; ``adrs_onco`` MDIS (measurable disease) for EFFFL.
* Hand-checked edge cases on a five-subject SDTM built below (dates worked out by hand).
"""

import numpy as np
import pandas as pd
import pytest

from mpmlib.derive import derive_adex, derive_adsl
from mpmlib.errors import DataError
from mpmlib.params import DEFAULTS, load_params
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
    from mpmlib.io import read_domain
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


# ---- ADEX ---------------------------------------------------------------------------------------

def test_adex_counts_every_treated_subject(tiny_sdtm):
    adsl = derive_tiny(tiny_sdtm).reset_index()
    adex = derive_adex(adsl, tiny_sdtm["ex"], adsl_params()["study_drugs"])
    nadmin = adex[adex["PARAMCD"].eq("NADMIN")].pivot(index="USUBJID", columns="PARCAT1", values="AVAL")
    assert nadmin.to_dict() == {"H101": {"S1": 2.0, "S3": 1.0, "S5": 0.0}, "PD1": {"S1": 1.0, "S3": 1.0, "S5": 1.0}}
    durd = adex[adex["PARAMCD"].eq("DURD") & adex["PARCAT1"].eq("H101")].set_index("USUBJID")["AVAL"]
    assert durd["S1"] == 3 and durd["S3"] == 1 and pd.isna(durd["S5"])
