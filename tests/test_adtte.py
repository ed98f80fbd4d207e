"""ADTTE: PFS (FDA 2018 censoring), OS, DOR and TTR.

References:
* pharmaverseadam ``adtte_onco`` (admiralonco ``ad_adtte.R`` on ``rs_onco_recist``): PFS, OS
  and duration of response subject by subject (AVAL, CNSR), with the template's rules (no
  missed-visit or new-therapy censoring, DoR from the first unconfirmed response);
* FDA guidance "Clinical Trial Endpoints for the Approval of Cancer Drugs and Biologics" (2018),
  PFS censoring table: hand-built subjects, one per rule, with the expected day worked out by hand.
"""

from __future__ import annotations

import pandas as pd
import pytest

from conftest import read_rda
from mpmlib.derive.adrs import derive_adrs
from mpmlib.derive.adtte import derive_adtte

TEMPLATE = {"reference_date": "RANDDT", "missed_assessments": None, "new_therapy_censoring": False,
            "dor_response": "RSP"}


@pytest.fixture(scope="module")
def pharmaverse(pharmaverse_sdtm, pharmaverse_params):
    from mpmlib.derive import derive_adsl

    adsl = derive_adsl(pharmaverse_sdtm, pharmaverse_params["adsl"])
    adrs = derive_adrs(adsl, pharmaverse_sdtm["rs"], {"reference_date": "RANDDT"})
    ref = read_rda("pharmaverseadam", "adtte_onco.rda")
    ref["PARAMCD"] = ref["PARAMCD"].replace({"RSD": "DOR"})
    return adsl, adrs, ref


def differences(ours, ref, paramcd):
    a = ours[ours["PARAMCD"].eq(paramcd)].set_index("USUBJID")[["AVAL", "CNSR"]]
    b = ref[ref["PARAMCD"].eq(paramcd)].set_index("USUBJID")[["AVAL", "CNSR"]]
    joined = a.join(b, rsuffix="_REF", how="outer")
    return joined[(joined["AVAL"] != joined["AVAL_REF"]) | (joined["CNSR"] != joined["CNSR_REF"])]


@pytest.mark.parametrize("paramcd, n", [("PFS", 254), ("DOR", 4)])
def test_pfs_and_dor_match_pharmaverseadam(pharmaverse, paramcd, n):
    adsl, adrs, ref = pharmaverse
    ours = derive_adtte(adsl, adrs, None, TEMPLATE)
    assert int(ours["PARAMCD"].eq(paramcd).sum()) == n
    assert differences(ours, ref, paramcd).empty


def test_pfs_event_counts_match_pharmaverseadam(pharmaverse):
    """6 events (3 PD + 3 deaths), 243 censored at randomisation, 5 at the last assessment."""
    adsl, adrs, _ = pharmaverse
    pfs = derive_adtte(adsl, adrs, None, TEMPLATE).query("PARAMCD == 'PFS'")
    assert pfs["EVNTDESC"].value_counts().to_dict() == {
        "Reference date": 243, "Last adequate tumour assessment": 5,
        "Disease progression": 3, "Death without progression": 3}


def test_os_matches_pharmaverseadam_given_its_last_alive_date(pharmaverse):
    """OS rules equal the template's when fed the reference ADSL's LSTALVDT (ours adds more
    contact sources, e.g. tumour assessments, so it is later for 92 subjects)."""
    adsl, adrs, ref = pharmaverse
    ref_adsl = read_rda("pharmaverseadam", "adsl.rda")
    lstalv = pd.to_datetime(ref_adsl.set_index("USUBJID")["LSTALVDT"])
    adsl = adsl.assign(LSTALVDT=adsl["USUBJID"].map(lstalv))
    ours = derive_adtte(adsl, adrs, None, TEMPLATE)
    assert differences(ours, ref, "OS").empty
    assert int((ours.query("PARAMCD == 'OS'")["CNSR"] == 0).sum()) == 3


# ---- FDA 2018 censoring rules, one hand-built subject per rule -----------------------------

REF = pd.Timestamp("2024-01-01")


def day(n: int) -> str:
    """Study day n (day 1 = reference date) as ISO 8601."""
    return (REF + pd.Timedelta(days=n - 1)).strftime("%Y-%m-%d")


CASES = {
    # subject: (assessments [(day, response)], death day, new-therapy day, expected (AVAL, CNSR, CNSDTDSC))
    "NOASSESS": ([], None, None, (1, 1, "No adequate post-baseline assessment")),
    "PD": ([(43, "SD"), (85, "PD")], None, None, (85, 0, "")),
    "EARLYDEATH": ([], 30, None, (30, 0, "")),
    "LATEDEATH": ([(43, "SD")], 200, None, (43, 1, "Event after 2 or more missed assessments")),
    "NACT": ([(43, "SD"), (85, "SD"), (127, "PD")], None, 100, (85, 1, "New anticancer therapy before progression")),
    "NEONLY": ([(43, "SD"), (85, "NE")], None, None, (43, 1, "Alive without progression at last adequate assessment")),
    # q9w after week 24: last assessment day 190, PD one missed q9w visit later (gap 126 <= 2*63+7)
    "Q9W": ([(190, "SD"), (316, "PD")], None, None, (316, 0, "")),
    # same gap at q6w: day 100 -> 226 is more than 2*42+7 = 91 days: censored at day 100
    "Q6WLATE": ([(100, "SD"), (226, "PD")], None, None, (100, 1, "Event after 2 or more missed assessments")),
}


@pytest.fixture(scope="module")
def fda_cases():
    subjects = list(CASES)
    adsl = pd.DataFrame({"USUBJID": subjects, "TTEREFDT": REF, "DCUTDT": pd.NaT,
                         "DTHDT": [REF + pd.Timedelta(days=c[1] - 1) if c[1] else pd.NaT for c in CASES.values()],
                         "LSTALVDT": REF + pd.Timedelta(days=300)})
    rs = pd.DataFrame([{"USUBJID": s, "RSTESTCD": "OVRLRESP", "RSSTRESC": r, "RSDTC": day(d), "RSSEQ": i}
                       for s, c in CASES.items() for i, (d, r) in enumerate(c[0], 1)])
    cm = pd.DataFrame([{"USUBJID": s, "CMCAT": "SUBSEQUENT ANTI-CANCER THERAPY", "CMSTDTC": day(c[2])}
                       for s, c in CASES.items() if c[2]])
    adsl.loc[adsl["DTHDT"].notna(), "LSTALVDT"] = adsl["DTHDT"]
    adrs = derive_adrs(adsl, rs)
    return derive_adtte(adsl, adrs, cm)


@pytest.mark.parametrize("subject", list(CASES))
def test_pfs_fda_censoring_rules(fda_cases, subject):
    pfs = fda_cases.query("PARAMCD == 'PFS'").set_index("USUBJID").loc[subject]
    assert (pfs["AVAL"], pfs["CNSR"], pfs["CNSDTDSC"]) == CASES[subject][3]


def test_os_death_and_cutoff():
    """OS: death is an event; a death after the data cut-off is not used (censored at the
    cut-off, the last date known alive is capped there)."""
    adsl = pd.DataFrame({"USUBJID": ["A", "B"], "TTEREFDT": REF, "DCUTDT": pd.Timestamp("2024-06-30"),
                         "DTHDT": [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-08-01")],
                         "LSTALVDT": [pd.Timestamp("2024-03-01"), pd.Timestamp("2024-08-01")]})
    os_ = derive_adtte(adsl, derive_adrs(adsl, None)).query("PARAMCD == 'OS'").set_index("USUBJID")
    assert (os_.loc["A", "AVAL"], os_.loc["A", "CNSR"]) == (61, 0)
    assert (os_.loc["B", "AVAL"], os_.loc["B", "CNSR"]) == (182, 1)


def test_dor_and_ttr_for_confirmed_responders():
    """DoR starts at the first confirmed response and ends at the PFS event; TTR is the time
    from the reference date to that response."""
    adsl = pd.DataFrame({"USUBJID": ["R"], "TTEREFDT": REF, "DCUTDT": pd.NaT, "DTHDT": pd.NaT,
                         "LSTALVDT": REF + pd.Timedelta(days=300)})
    rs = pd.DataFrame({"USUBJID": "R", "RSTESTCD": "OVRLRESP", "RSSTRESC": ["PR", "PR", "PD"],
                       "RSDTC": [day(43), day(85), day(127)], "RSSEQ": [1, 2, 3]})
    tte = derive_adtte(adsl, derive_adrs(adsl, rs)).set_index("PARAMCD")
    assert (tte.loc["DOR", "AVAL"], tte.loc["DOR", "CNSR"]) == (127 - 43 + 1, 0)
    assert (tte.loc["TTR", "AVAL"], tte.loc["TTR", "CNSR"]) == (43, 0)


def test_impossible_new_therapy_date_is_a_clear_error():
    from mpmlib.errors import DataError

    adsl = pd.DataFrame({"USUBJID": ["A"], "TTEREFDT": REF, "DCUTDT": pd.NaT, "DTHDT": pd.NaT, "LSTALVDT": REF})
    cm = pd.DataFrame({"USUBJID": ["A"], "CMCAT": ["SUBSEQUENT ANTI-CANCER THERAPY"], "CMSTDTC": ["2024-02-30"]})
    with pytest.raises(DataError, match=r"CM\.CMSTDTC: not a valid ISO 8601 date.*USUBJID: A"):
        derive_adtte(adsl, derive_adrs(adsl, None), cm)


# ---- all censored, data cut-off and responses that cannot start a duration of response -----

def test_pfs_when_no_subject_has_an_event():
    """Every subject censored (no PD, no death): FDA 2018 rules 2 and 5 by hand, censored at the
    last adequate assessment or at day 1; before the fix derive_pfs raised "Must have equal len
    keys" here."""
    adsl = pd.DataFrame({"USUBJID": ["A", "B", "C"], "TTEREFDT": REF, "DCUTDT": pd.NaT, "DTHDT": pd.NaT,
                         "LSTALVDT": REF + pd.Timedelta(days=300)})
    rs = pd.DataFrame({"USUBJID": ["A", "A", "B"], "RSTESTCD": "OVRLRESP", "RSSTRESC": ["PR", "PR", "SD"],
                       "RSDTC": [day(43), day(85), day(43)], "RSSEQ": [1, 2, 1]})
    tte = derive_adtte(adsl, derive_adrs(adsl, rs)).set_index(["USUBJID", "PARAMCD"])
    pfs = tte.xs("PFS", level="PARAMCD")
    assert pfs["CNSR"].tolist() == [1, 1, 1]
    assert pfs["AVAL"].tolist() == [85, 43, 1]
    assert pfs["CNSDTDSC"].tolist() == ["Alive without progression at last adequate assessment"] * 2 + [
        "No adequate post-baseline assessment"]
    assert (tte.loc[("A", "DOR"), "AVAL"], tte.loc[("A", "DOR"), "CNSR"]) == (85 - 43 + 1, 1)
    # and with no response data at all
    assert derive_adtte(adsl, derive_adrs(adsl, None)).query("PARAMCD == 'PFS'")["CNSR"].eq(1).all()


def test_response_after_data_cutoff_gives_no_duration_of_response():
    """Cut-off at day 100: the PRs on days 120 and 160 are not analysed (ADRS ANLEXCL), so the
    subject is not a responder and has no DOR; before the fix CRSP was Y at day 120 while PFS was
    censored at day 43, a DoR of -76 days. Reference: hand computation (FDA 2018 rule 5)."""
    adsl = pd.DataFrame({"USUBJID": ["A"], "TTEREFDT": REF, "DCUTDT": REF + pd.Timedelta(days=99),
                         "DTHDT": pd.NaT, "LSTALVDT": REF + pd.Timedelta(days=300)})
    rs = pd.DataFrame({"USUBJID": "A", "RSTESTCD": "OVRLRESP", "RSSTRESC": ["SD", "PR", "PR"],
                       "RSDTC": [day(43), day(120), day(160)], "RSSEQ": [1, 2, 3]})
    adrs = derive_adrs(adsl, rs)
    tte = derive_adtte(adsl, adrs)
    assert "DOR" not in set(tte["PARAMCD"])
    assert (tte.query("PARAMCD == 'PFS'")[["AVAL", "CNSR"]].iloc[0].tolist()) == [43, 1]


def test_response_after_new_anticancer_therapy_gives_no_duration_of_response():
    """New anticancer therapy on day 50, confirmed PR from day 85: PFS is censored at the last
    adequate assessment before the therapy (day 43, FDA 2018 rule 3), so a DoR from day 85 would
    be negative. The response is not attributable to study treatment: no DOR/TTR record when
    ADRS was derived without CM, and no response at all when derived with CM."""
    adsl = pd.DataFrame({"USUBJID": ["A", "B"], "TTEREFDT": REF, "DCUTDT": pd.NaT, "DTHDT": pd.NaT,
                         "LSTALVDT": REF + pd.Timedelta(days=300)})
    rs = pd.DataFrame({"USUBJID": ["A"] * 3 + ["B"] * 2, "RSTESTCD": "OVRLRESP",
                       "RSSTRESC": ["SD", "PR", "PR", "PR", "PR"],
                       "RSDTC": [day(43), day(85), day(127), day(43), day(85)], "RSSEQ": [1, 2, 3, 1, 2]})
    cm = pd.DataFrame({"USUBJID": ["A"], "CMCAT": ["SUBSEQUENT ANTI-CANCER THERAPY"], "CMSTDTC": [day(50)]})
    for adrs in (derive_adrs(adsl, rs), derive_adrs(adsl, rs, None, cm)):
        tte = derive_adtte(adsl, adrs, cm).set_index(["USUBJID", "PARAMCD"])
        assert ("A", "DOR") not in tte.index and ("A", "TTR") not in tte.index
        assert (tte.loc[("A", "PFS"), "AVAL"], tte.loc[("A", "PFS"), "CNSR"]) == (43, 1)
        assert tte.loc[("B", "DOR"), "AVAL"] == 85 - 43 + 1        # B, without new therapy, unchanged
        assert (tte.xs("DOR", level="PARAMCD")["AVAL"] >= 1).all()
    with_cm = derive_adrs(adsl, rs, None, cm).query("USUBJID == 'A'").set_index("PARAMCD")
    assert with_cm.loc["CBOR", "AVALC"] == "SD" and with_cm.loc["CRSP", "AVALC"] == "N"
    assert with_cm.loc["OVR", "ANLEXCL"].tolist() == ["", *["after the start of new anticancer therapy"] * 2]


def test_death_before_a_response_date_is_a_clear_error():
    """A death dated before a response assessment would give a negative DoR: DataError naming
    ADSL.DTHDT and the subject (DEVELOPERS.md: bad data gives a clear error)."""
    from mpmlib.errors import DataError

    adsl = pd.DataFrame({"USUBJID": ["A"], "TTEREFDT": REF, "DCUTDT": pd.NaT, "DTHDT": REF + pd.Timedelta(days=39),
                         "LSTALVDT": REF + pd.Timedelta(days=39)})
    rs = pd.DataFrame({"USUBJID": "A", "RSTESTCD": "OVRLRESP", "RSSTRESC": ["PR", "PR"],
                       "RSDTC": [day(43), day(85)], "RSSEQ": [1, 2]})
    with pytest.raises(DataError, match=r"ADSL\.DTHDT: .*negative.*USUBJID: A"):
        derive_adtte(adsl, derive_adrs(adsl, rs))
