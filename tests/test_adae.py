"""ADAE: treatment-emergent flag, conservative start-date imputation, grades and relationships.

References:
* pharmaverseadam ``adae`` (admiral ``derive_var_trtemfl(end_window = 30)``, ASTDT imputed with
  ``highest_imputation = "M"``, ``min_dates = TRTSDT``): TRTEMFL, ASTDT and ASTDTF record by record;
  subject 01-705-1303's four AEs at last dose + 37 days are the 30 (+7)-day boundary case
  (../shared/notes/external-data.md §2.3);
* CDISC pilot ``adae.xpt`` (emergent = on or after the first dose, no end window): TRTEMFL record
  by record;
* hand-built cases for the imputation and grade rules (admiral ad_adae.R, CTCAE v5.0 grades 1-5).
"""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import external, read_rda
from mpmlib.derive.adae import derive_adae
from mpmlib.errors import DataError


@pytest.fixture(scope="module")
def pharmaverse_adsl(pharmaverse_sdtm, pharmaverse_params):
    from mpmlib.derive import derive_adsl

    return derive_adsl(pharmaverse_sdtm, pharmaverse_params["adsl"])


def test_trtemfl_astdt_match_pharmaverseadam(pharmaverse_adsl, pharmaverse_sdtm):
    ours = derive_adae(pharmaverse_adsl, pharmaverse_sdtm["ae"], None, {"window_days": 30, "grace_days": 0})
    ref = read_rda("pharmaverseadam", "adae.rda")
    joined = ours.merge(ref[["USUBJID", "AESEQ", "TRTEMFL", "ASTDT", "ASTDTF"]], on=["USUBJID", "AESEQ"],
                        suffixes=("", "_REF"), validate="one_to_one")
    assert len(joined) == len(ref) == 1191
    assert (joined["TRTEMFL"] == joined["TRTEMFL_REF"].fillna("N")).all()
    assert (joined["ASTDT"] == pd.to_datetime(joined["ASTDT_REF"])).all()
    assert (joined["ASTDTF"].fillna("") == joined["ASTDTF_REF"].fillna("")).all()
    assert int(ours["TRTEMFL"].eq("Y").sum()) == 1122


def test_30_plus_7_day_window_boundary(pharmaverse_adsl, pharmaverse_sdtm):
    """01-705-1303: AEs on 2014-02-05 = last dose 2013-12-30 + 37 days."""
    def flags(grace):
        adae = derive_adae(pharmaverse_adsl, pharmaverse_sdtm["ae"], None, {"window_days": 30, "grace_days": grace})
        return adae[adae["USUBJID"].eq("01-705-1303") & adae["ASTDT"].eq(pd.Timestamp("2014-02-05"))]["TRTEMFL"]
    assert flags(0).tolist() == ["N"] * 4
    assert flags(7).tolist() == ["Y"] * 4
    assert flags(6).tolist() == ["N"] * 4


def test_trtemfl_matches_cdisc_pilot_adae(pilot_sdtm):
    import pyreadstat

    from mpmlib.derive import derive_adsl
    from mpmlib.settings.load import PROJECT_ROOT, load_params

    params = load_params(PROJECT_ROOT / "params" / "cdiscpilot01.yaml")
    adsl = derive_adsl(pilot_sdtm, params["adsl"])
    ours = derive_adae(adsl, pilot_sdtm["ae"], pilot_sdtm.get("suppae"), params["safety"])
    ref, _ = pyreadstat.read_xport(str(external("cdiscpilot01", "adam", "adae.xpt")), encoding="WINDOWS-1252")
    joined = ours.merge(ref[["USUBJID", "AESEQ", "TRTEMFL"]], on=["USUBJID", "AESEQ"], suffixes=("", "_REF"),
                        validate="one_to_one")
    assert len(joined) == 1191 and (joined["TRTEMFL"] == joined["TRTEMFL_REF"]).all()


def hand_adsl():
    return pd.DataFrame({"USUBJID": ["S1", "S2"], "TRT01A": "ARM", "TRTSDT": pd.to_datetime(["2024-03-10", pd.NaT]),
                         "TRTEDT": pd.to_datetime(["2024-06-01", pd.NaT]), "H101EDT": pd.to_datetime(["2024-04-01", pd.NaT]),
                         "DTHDT": pd.to_datetime(["2024-08-15", pd.NaT])})


def hand_ae(**columns):
    base = {"USUBJID": "S1", "AEDECOD": "Fever", "AEBODSYS": "General disorders", "AETOXGR": "1"}
    return pd.DataFrame({**base, **columns})


def test_partial_start_dates_are_imputed_conservatively():
    """Month of the first dose -> first dose date; other partial dates -> first of the period;
    ASTDTF D / M (admiral ad_adae.R)."""
    ae = hand_ae(AESEQ=[1, 2, 3, 4], AESTDTC=["2024-03", "2024-02", "2024", "2024-05-02"])
    adae = derive_adae(hand_adsl(), ae, None, {"window_anchor": "H101", "window_days": 30, "grace_days": 7})
    got = adae.set_index("AESEQ")
    assert got.loc[1, "ASTDT"] == pd.Timestamp("2024-03-10") and got.loc[1, "ASTDTF"] == "D"
    assert got.loc[2, "ASTDT"] == pd.Timestamp("2024-02-01") and got.loc[2, "TRTEMFL"] == "N"
    assert got.loc[3, "ASTDT"] == pd.Timestamp("2024-03-10") and got.loc[3, "ASTDTF"] == "M"
    # H101 anchor: last H101 dose 2024-04-01 + 37 = 2024-05-08, so 2024-05-02 is emergent
    assert got.loc[4, "TRTEMFL"] == "Y" and got.loc[4, "ASTDY"] == 54


def test_window_ends_at_the_later_of_the_h101_window_and_the_last_dose_of_any_drug():
    """S1: last H101 dose 2024-04-01, last dose of any study drug (the PD-1 inhibitor) 2024-06-01.
    Hand computation: H101 end 04-01 + 30 + 7 = 05-08; any-drug end 06-01 + 30 = 07-01; the window
    ends at the later, 07-01. So AEs on 05-11 (on PD-1, 40 days after the last H101 dose) and
    07-01 are emergent, 07-02 is not. With ``window_any_drug_days: null`` only the H101 end applies
    (05-11 not emergent: the defect a reviewer found, a fatal PD-1 pneumonitis was invisible)."""
    ae = hand_ae(AESEQ=[1, 2, 3, 4], AESTDTC=["2024-05-08", "2024-05-11", "2024-07-01", "2024-07-02"])
    settings = {"window_anchor": "H101", "window_days": 30, "grace_days": 7, "window_any_drug_days": 30}
    adae = derive_adae(hand_adsl(), ae, None, settings).set_index("AESEQ")
    assert adae["TRTEMFL"].tolist() == ["Y", "Y", "Y", "N"]
    assert (adae["TEWENDT"] == pd.Timestamp("2024-07-01")).all()
    assert adae["TEMRSN"].tolist() == ["", "", "", "after the window"]
    protocol_only = derive_adae(hand_adsl(), ae, None, {**settings, "window_any_drug_days": None})
    assert protocol_only.sort_values("AESEQ")["TRTEMFL"].tolist() == ["Y", "N", "N", "N"]


def test_h101_window_wins_when_it_ends_later():
    """Last H101 dose 2024-04-01 and last dose of any drug 2024-04-05: 04-01 + 37 = 05-08 is later
    than 04-05 + 30 = 05-05, so 05-08 is emergent and 05-09 is not (hand computation)."""
    adsl = hand_adsl().assign(TRTEDT=pd.to_datetime(["2024-04-05", pd.NaT]))
    ae = hand_ae(AESEQ=[1, 2], AESTDTC=["2024-05-08", "2024-05-09"])
    adae = derive_adae(adsl, ae, None, {"window_anchor": "H101", "window_days": 30, "grace_days": 7,
                                        "window_any_drug_days": 30})
    assert adae["TRTEMFL"].tolist() == ["Y", "N"]


def test_immune_related_sensitivity_window_and_reasons():
    """TRTEIRFL: window to the later of TEWENDT (07-01, as above) and TRTEDT 06-01 + 90 = 08-30
    (hand computation). An AE before the first dose and one of a never-dosed subject carry their
    reason in TEMRSN; the direct call's defaults are the pipeline's (mpmlib.settings.load.DEFAULTS)."""
    ae = pd.concat([hand_ae(AESEQ=[1, 2, 3, 4], AESTDTC=["2024-03-01", "2024-07-15", "2024-08-30", "2024-08-31"]),
                    hand_ae(USUBJID="S2", AESEQ=[1], AESTDTC=["2024-04-01"])])
    adae = derive_adae(hand_adsl(), ae, None, {"window_anchor": "H101"}).sort_values(["USUBJID", "AESEQ"])
    assert adae["TRTEMFL"].tolist() == ["N", "N", "N", "N", "N"]
    assert adae["TRTEIRFL"].tolist() == ["N", "Y", "Y", "N", "N"]
    assert adae["TEMRSN"].tolist()[0] == "before first dose" and adae["TEMRSN"].tolist()[-1] == "never dosed"
    none = derive_adae(hand_adsl(), ae, None, {"window_anchor": "H101", "immune_window_days": None})
    assert (none["TRTEIRFL"] == none["TRTEMFL"]).all()


def test_demo_fatal_pd1_pneumonitis_is_treatment_emergent(project_root):
    """The demo's grade 5, serious, PD-1-related immune pneumonitis 4 days after the last PD-1 dose
    (and 196 days after the last H101 dose) is a TEAE under the demo parameters; every AE on the
    PD-1 inhibitor up to its last dose + 30 days is too (hand rule from the module docstring)."""
    from mpmlib.notebook import load_run

    run = load_run(str(project_root / "params" / "demo.yaml"))
    adae, adsl = run.adam["adae"], run.adam["adsl"]
    fatal = adae[adae["FATALFL"].eq("Y") & adae["AEDECOD"].eq("Pneumonitis")]
    assert len(fatal) == 1 and fatal["TRTEMFL"].iloc[0] == "Y" and fatal["ATOXGRN"].iloc[0] == 5
    dates = adae.merge(adsl[["USUBJID", "TRTSDT", "PD1EDT", "DCUTDT"]], on="USUBJID")
    on_pd1 = dates["ASTDT"].between(dates["TRTSDT"], dates["PD1EDT"] + pd.Timedelta(days=30))
    assert on_pd1.sum() > 200
    assert dates.loc[on_pd1 & (dates["ASTDT"] <= dates["DCUTDT"]), "TRTEMFL"].eq("Y").all()


def test_undated_ae_and_untreated_subject():
    """No start date: emergent unless it ended before the first dose; a never-dosed subject has
    no emergent AE (admiral derive_var_trtemfl)."""
    ae = pd.concat([hand_ae(AESEQ=[1, 2], AESTDTC=[None, None], AEENDTC=[None, "2024-03-01"]),
                    hand_ae(USUBJID="S2", AESEQ=[1], AESTDTC=["2024-04-01"])])
    adae = derive_adae(hand_adsl(), ae, None, {"window_days": None})
    assert adae.sort_values(["USUBJID", "AESEQ"])["TRTEMFL"].tolist() == ["Y", "N", "N"]


def test_grade_relationship_and_outcome_flags():
    ae = hand_ae(AESEQ=[1, 2, 3], AESTDTC=["2024-03-11", "2024-03-12", "2024-03-13"], AETOXGR=["2", "3", "5"],
                 AESER=["N", "Y", "Y"], AEOUT=["RECOVERED/RESOLVED", "RECOVERING/RESOLVING", "FATAL"],
                 AEACN=["DOSE NOT CHANGED", "DRUG WITHDRAWN", "NOT APPLICABLE"])
    supp = pd.DataFrame({"USUBJID": "S1", "IDVAR": "AESEQ", "IDVARVAL": ["1", "2", "3", "1"],
                         "QNAM": ["AERELH1", "AERELH1", "AERELH1", "AEIRFL"],
                         "QVAL": ["RELATED", "NOT RELATED", "NOT RELATED", "Y"]})
    adae = derive_adae(hand_adsl(), ae, supp, {"relationship": {"H101": {"qnam": "AERELH1"}},
                                                "immune_related": {"qnam": "AEIRFL"}}).set_index("AESEQ")
    assert adae["GR3FL"].tolist() == ["N", "Y", "Y"]
    assert adae["RELH101FL"].tolist() == ["Y", "N", "N"] and adae["RELANYFL"].tolist() == ["Y", "N", "N"]
    assert adae["AEIRFL"].tolist() == ["Y", "N", "N"]
    assert adae["SERFL"].tolist() == ["N", "Y", "Y"] and adae["DISCFL"].tolist() == ["N", "Y", "N"]
    assert adae["FATALFL"].tolist() == ["N", "N", "Y"]


@pytest.mark.parametrize("column, value, variable", [("AETOXGR", "6", "AE.AETOXGR"), ("AESTDTC", "2024-02-30", "AE.AESTDTC")])
def test_bad_values_are_clear_errors(column, value, variable):
    ae = hand_ae(AESEQ=[1], AESTDTC=["2024-03-11"])
    ae[column] = value
    with pytest.raises(DataError, match=variable) as err:
        derive_adae(hand_adsl(), ae)
    assert "S1" in str(err.value)


def test_relationship_qnam_missing_from_suppae_is_a_clear_error():
    """A misspelt QNAM would silently make every AE unrelated: it is an error naming SUPPAE and the QNAM."""
    ae = hand_ae(AESEQ=[1], AESTDTC=["2024-03-11"])
    supp = pd.DataFrame({"USUBJID": "S1", "IDVAR": "AESEQ", "IDVARVAL": ["1"], "QNAM": ["AERELPD"], "QVAL": ["RELATED"]})
    with pytest.raises(DataError, match=r"SUPPAE\.QNAM=AERELH1: named in the safety parameters but has no records"):
        derive_adae(hand_adsl(), ae, supp, {"relationship": {"H101": {"qnam": "AERELH1"}}})
    with pytest.raises(DataError, match=r"SUPPAE\.QNAM=AERELH1"):
        derive_adae(hand_adsl(), ae, None, {"relationship": {"H101": {"qnam": "AERELH1"}}})


def test_subject_without_h101_gets_the_window_from_the_last_dose_of_any_study_drug():
    """S3 received only the PD-1 inhibitor (H101EDT missing, TRTEDT 2024-06-01): the window ends at
    TRTEDT + 30 + 7 = 2024-07-08 (module docstring), not never. Reference: hand computation."""
    adsl = pd.concat([hand_adsl(), pd.DataFrame({
        "USUBJID": ["S3"], "TRT01A": "ARM", "TRTSDT": pd.to_datetime(["2024-03-10"]),
        "TRTEDT": pd.to_datetime(["2024-06-01"]), "H101EDT": pd.NaT, "DTHDT": pd.NaT})], ignore_index=True)
    ae = hand_ae(USUBJID="S3", AESEQ=[1, 2, 3], AESTDTC=["2024-04-01", "2024-07-08", "2024-07-09"])
    adae = derive_adae(adsl, ae, None, {"window_anchor": "H101", "window_days": 30, "grace_days": 7})
    assert adae.sort_values("AESEQ")["TRTEMFL"].tolist() == ["Y", "Y", "N"]


def test_partial_start_in_first_dose_month_is_capped_at_the_end_date():
    """AESTDTC 2024-03, AEENDTC 2024-03-05, first dose 2024-03-10: admiral derive_vars_dtm with
    min_dates = TRTSDT and max_dates = AENDT imputes 2024-03-05 (never after the end), so the AE
    ended before the first dose and is not emergent; an end after the first dose keeps the first
    dose date (conservative rule unchanged). Reference: hand computation of the admiral rule."""
    ae = hand_ae(AESEQ=[1, 2, 3], AESTDTC=["2024-03", "2024-03", "2024"],
                 AEENDTC=["2024-03-05", "2024-03-20", "2024-02-10"])
    got = derive_adae(hand_adsl(), ae, None, {"window_days": None}).set_index("AESEQ")
    assert got.loc[1, "ASTDT"] == pd.Timestamp("2024-03-05") and got.loc[1, "TRTEMFL"] == "N"
    assert got.loc[2, "ASTDT"] == pd.Timestamp("2024-03-10") and got.loc[2, "TRTEMFL"] == "Y"
    assert got.loc[3, "ASTDT"] == pd.Timestamp("2024-02-10") and got.loc[3, "TRTEMFL"] == "N"
    assert (got["ASTDT"] <= got["AENDT"]).all()


def test_ae_starting_after_the_data_cutoff_is_not_emergent():
    """Data cut-off 2024-05-01 (ADSL DCUTDT): an AE from 2024-05-02 is not in the analysis
    (TRTEMFL N) although within the window; one on the cut-off day is. Reference: hand computation."""
    adsl = hand_adsl().assign(DCUTDT=pd.Timestamp("2024-05-01"))
    ae = hand_ae(AESEQ=[1, 2], AESTDTC=["2024-05-01", "2024-05-02"])
    adae = derive_adae(adsl, ae, None, {"window_days": None})
    assert adae.sort_values("AESEQ")["TRTEMFL"].tolist() == ["Y", "N"]
    assert derive_adae(adsl.assign(DCUTDT=pd.NaT), ae, None, {"window_days": None})["TRTEMFL"].tolist() == ["Y", "Y"]


def test_a_flag_whose_source_is_blank_in_every_record_is_not_collected():
    """AEACN blank in every record (as on the CDISC pilot): DISCFL is null everywhere, not "N";
    one blank record among filled ones stays "N". Severity-only data without AEOUT/AESDTH cannot
    show a death: FATALFL not collected; with CTCAE grades grade 5 is informative (collected)."""
    ae = hand_ae(AESEQ=[1, 2], AESTDTC=["2024-03-11", "2024-03-12"], AESER=["Y", None], AEACN=[None, " "])
    adae = derive_adae(hand_adsl(), ae, None, {"window_days": None}).set_index("AESEQ")
    assert adae["DISCFL"].isna().all() and adae["SERFL"].tolist() == ["Y", "N"]
    assert adae["FATALFL"].tolist() == ["N", "N"]                      # CTCAE grades: collected
    severity = hand_ae(AESEQ=[1], AESTDTC=["2024-03-11"], AESEV=["SEVERE"]).drop(columns="AETOXGR")
    got = derive_adae(hand_adsl(), severity, None, {"window_days": None})
    assert got["FATALFL"].isna().all() and got["GRSRC"].eq("AESEV").all()


def test_pilot_aeacn_is_not_collected(pilot_sdtm):
    """CDISC pilot AE.AEACN is blank in all 1,191 records (../shared/notes/external-data.md):
    DISCFL not collected; AESER is collected (3 serious AEs in the pilot ADAE, AESER = Y)."""
    from mpmlib.derive import derive_adsl
    from mpmlib.settings.load import PROJECT_ROOT, load_params

    params = load_params(PROJECT_ROOT / "params" / "cdiscpilot01.yaml")
    adae = derive_adae(derive_adsl(pilot_sdtm, params["adsl"]), pilot_sdtm["ae"], None, params["safety"])
    assert pilot_sdtm["ae"]["AEACN"].fillna("").str.strip().eq("").all()
    assert adae["DISCFL"].isna().all()
    assert adae["SERFL"].eq("Y").sum() == int(pilot_sdtm["ae"]["AESER"].eq("Y").sum()) == 3


RELATIONSHIP = {"relationship": {"H101": {"qnam": "AERELH1"}}}


@pytest.mark.parametrize("idvarval", ["1.5", "one", None, "1e400", "1" * 20])
def test_suppae_idvarval_that_is_not_an_integer_aeseq_is_a_clear_error(idvarval):
    """Issue 14: a SUPPAE IDVARVAL of "1.5" crashed in astype(Int64); "one" silently lost the AE's
    relatedness (it matched no AESEQ). SDTMIG 3.3 §8.4.1 / SDTM v1.7: IDVARVAL holds the parent's
    AESEQ, a whole number; anything else names SUPPAE.IDVARVAL, the QNAM, the subject and value."""
    ae = hand_ae(AESEQ=[1, 2], AESTDTC=["2024-03-11", "2024-03-12"])
    supp = pd.DataFrame({"USUBJID": "S1", "IDVAR": "AESEQ", "IDVARVAL": ["1", idvarval], "QNAM": "AERELH1",
                         "QVAL": ["RELATED", "RELATED"]})
    with pytest.raises(DataError, match=r"^SUPPAE\.IDVARVAL: a QNAM=AERELH1 record must name an integer AESEQ "
                                        r"\[USUBJID: S1\] - IDVARVAL values: ") as err:
        derive_adae(hand_adsl(), ae, supp, RELATIONSHIP)
    assert (str(idvarval) if idvarval is not None else "''") in str(err.value)


def test_suppae_idvarval_written_as_a_whole_decimal_still_matches():
    """"2.0" is AESEQ 2 (a SAS numeric exported as text): the qualifier is kept (hand case)."""
    ae = hand_ae(AESEQ=[1, 2], AESTDTC=["2024-03-11", "2024-03-12"])
    supp = pd.DataFrame({"USUBJID": "S1", "IDVAR": "AESEQ", "IDVARVAL": ["1.0", "2"], "QNAM": "AERELH1",
                         "QVAL": ["NOT RELATED", "RELATED"]})
    adae = derive_adae(hand_adsl(), ae, supp, RELATIONSHIP).set_index("AESEQ")
    assert adae["RELH101FL"].tolist() == ["N", "Y"]


def test_suppae_record_pointing_by_another_idvar_is_a_clear_error():
    """A relatedness QNAM record with IDVAR = AEGRPID (or blank) would be matched against AESEQ
    (wrong AE, or none): an error naming SUPPAE.IDVAR, the subject and the value, escaped."""
    ae = hand_ae(AESEQ=[1], AESTDTC=["2024-03-11"])
    supp = pd.DataFrame({"USUBJID": "S1", "IDVAR": ["AEGRPID\u200b"], "IDVARVAL": ["1"], "QNAM": "AERELH1",
                         "QVAL": ["RELATED"]})
    with pytest.raises(DataError, match=r"SUPPAE\.IDVAR: a QNAM=AERELH1 record must point at its AE by AESEQ "
                                        r"\[USUBJID: S1\] - IDVAR values: AEGRPID\\u200b"):
        derive_adae(hand_adsl(), ae, supp, RELATIONSHIP)


@pytest.mark.parametrize("aeseq", [1.5, float("nan"), float("inf")])
def test_aeseq_that_is_not_an_integer_is_a_clear_error_when_suppae_is_matched(aeseq):
    """SUPPAE qualifiers are matched on AESEQ (SDTM v1.7 --SEQ, a whole number); an AESEQ of 1.5
    crashed (astype Int64) and a blank one silently lost the AE's relatedness."""
    ae = hand_ae(AESEQ=[1, aeseq], AESTDTC=["2024-03-11", "2024-03-12"])
    supp = pd.DataFrame({"USUBJID": "S1", "IDVAR": "AESEQ", "IDVARVAL": ["1"], "QNAM": "AERELH1", "QVAL": ["RELATED"]})
    with pytest.raises(DataError, match=r"^AE\.AESEQ: sequence number must be an integer \[USUBJID: S1\]"):
        derive_adae(hand_adsl(), ae, supp, RELATIONSHIP)


def test_blank_qval_is_blank_not_the_text_nan():
    """A blank QVAL was read as the text "NAN" (astype(str)), so a relatedness never given looked
    given; now blank, and a QNAM blank in every record is "not collected" (null)."""
    ae = hand_ae(AESEQ=[1], AESTDTC=["2024-03-11"])
    supp = pd.DataFrame({"USUBJID": "S1", "IDVAR": "AESEQ", "IDVARVAL": ["1"], "QNAM": "AERELH1", "QVAL": [None]})
    adae = derive_adae(hand_adsl(), ae, supp, RELATIONSHIP)
    assert adae["RELH101FL"].isna().all()
