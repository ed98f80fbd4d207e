"""ADEX relative dose intensity: dose intensity = cumulative dose / (last - first dose + one
interval), relative to the planned dose per interval (Longo et al., J Clin Oncol 1991;9:2042).
Hand-computed cases."""

from __future__ import annotations

import pandas as pd
import pytest

from mpmlib.derive import derive_adex


def adex_for(dates: list[str], doses: list[float]) -> pd.DataFrame:
    adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["A"], "TRT01A": "ARM", "SAFFL": "Y"})
    ex = pd.DataFrame({"USUBJID": "A", "EXTRT": "TORIPALIMAB", "EXDOSE": doses, "EXDOSU": "mg",
                       "EXSTDTC": dates, "EXENDTC": dates})
    return derive_adex(adsl, ex, {"PD1": ["TORIPALIMAB"]}, planned_dosing={"PD1": {"dose": 240, "interval_days": 21}})


@pytest.mark.parametrize("dates, doses, expected", [
    (["2024-01-01", "2024-01-22", "2024-02-12"], [240, 240, 240], 100.0),            # on schedule
    (["2024-01-01", "2024-01-29"], [240, 240], 100 * 480 * 21 / ((29 - 1 + 21) * 240)),  # one-week delay: 85.7 %
    (["2024-01-01", "2024-01-22"], [240, 120], 75.0),                                  # half dose once
    (["2024-01-01"], [240], 100.0),                                                    # a single dose
])
def test_relative_dose_intensity(dates, doses, expected):
    adex = adex_for(dates, doses).set_index("PARAMCD")
    assert adex.loc["RDI", "AVAL"] == pytest.approx(expected)
    assert adex.loc["RDI", "AVALU"] == "%"
    assert adex.loc["CUMDOSE", "AVAL"] == sum(doses)


def test_no_rdi_without_a_planned_schedule():
    adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["A"], "TRT01A": "ARM", "SAFFL": "Y"})
    ex = pd.DataFrame({"USUBJID": "A", "EXTRT": "H101", "EXDOSE": [1e12], "EXSTDTC": ["2024-01-01"]})
    adex = derive_adex(adsl, ex, {"H101": ["H101"]})
    assert "RDI" not in set(adex["PARAMCD"])


# ---- constant-dosing intervals (SDTMIG 3.3 EX: one record per administration or interval) ------

@pytest.mark.parametrize("frequency, start, end, expected", [
    ("ONCE", "2024-01-01", "2024-01-01", 1),     # one administration
    (None, "2024-01-01", "2024-01-01", 1),       # no frequency on a one-day record: one
    ("QD", "2024-01-01", "2024-01-14", 14),      # 14 days x 1 a day
    ("BID", "2024-01-01", "2024-01-03", 6),      # 3 days x 2 a day
    ("Q12H", "2024-01-01", "2024-01-03", 6),     # 24 / 12 = 2 a day
    ("QOD", "2024-01-01", "2024-01-05", 3),      # days 1, 3, 5
    ("QW", "2024-01-01", "2024-01-15", 3),       # days 1, 8, 15
    ("Q3W", "2024-01-01", "2024-02-12", 3),      # 43 days: days 1, 22, 43
    ("Q3W", "2024-01-01", "2024-02-11", 2),      # 42 days: days 1, 22
])
def test_administrations_per_record(frequency, start, end, expected):
    """Hand-counted administrations of one EX record from its CDISC FREQ code and length; the
    cumulative dose is EXDOSE x administrations."""
    adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["A"], "TRT01A": "ARM", "SAFFL": "Y"})
    ex = pd.DataFrame({"USUBJID": ["A"], "EXTRT": "DRUG", "EXDOSE": [10.0], "EXDOSU": "mg",
                       "EXDOSFRQ": [frequency], "EXSTDTC": [start], "EXENDTC": [end]})
    adex = derive_adex(adsl, ex, {"D": ["DRUG"]}).set_index("PARAMCD")["AVAL"]
    assert adex["NADMIN"] == expected
    assert adex["CUMDOSE"] == 10.0 * expected


@pytest.mark.parametrize("frequency", ["PRN", "CONTINUOUS", None, "WEEKLYISH"])
def test_an_interval_whose_frequency_cannot_be_counted_is_a_data_error(frequency):
    """A multi-day record without a countable FREQ code would give a wrong cumulative dose: the
    error names EX, EXDOSFRQ, the subject and the value."""
    from mpmlib.errors import DataError

    adsl = pd.DataFrame({"STUDYID": "S", "USUBJID": ["A"], "TRT01A": "ARM", "SAFFL": "Y"})
    ex = pd.DataFrame({"USUBJID": ["A"], "EXTRT": "DRUG", "EXDOSE": [10.0], "EXDOSFRQ": [frequency],
                       "EXSTDTC": ["2024-01-01"], "EXENDTC": ["2024-01-10"]})
    with pytest.raises(DataError, match=r"EX.*EXDOSFRQ.*A.*over 10 days"):
        derive_adex(adsl, ex, {"D": ["DRUG"]})


def test_pilot_cumulative_dose_by_hand_and_against_the_pilot_adsl(pilot_sdtm, project_root):
    """CDISC pilot: daily patches, one EX record per constant-dose interval (EXDOSFRQ = QD).

    By hand from EX: 01-701-1028 54 mg x 14 days (2013-07-19..08-01) + 81 mg x 158 days
    (08-02..2014-01-06) + 54 mg x 8 days (01-07..01-14) = 13,986 mg over 180 days;
    01-701-1033 54 mg x 14 days = 756 mg. Reference for every subject: the pilot's own ADSL
    CUMDOSE (adam/adsl.xpt). Three of the six subjects whose last EX record has no EXENDTC differ:
    the pilot ends the open interval at the end of treatment, we count its start day only
    (``adsl.ex_missing_end: start``; the records are open, the dose after them unknown)."""
    import pyreadstat

    from conftest import external
    from mpmlib.derive import derive_adsl
    from mpmlib.settings.load import load_params

    params = load_params(project_root / "params" / "cdiscpilot01.yaml")
    adsl = derive_adsl(pilot_sdtm, params["adsl"])
    adex = derive_adex(adsl, pilot_sdtm["ex"], params["adsl"]["study_drugs"])
    wide = adex.pivot(index="USUBJID", columns="PARAMCD", values="AVAL")
    assert wide.loc["01-701-1028", "CUMDOSE"] == 54 * 14 + 81 * 158 + 54 * 8 == 13986
    assert wide.loc["01-701-1028", "NADMIN"] == 14 + 158 + 8
    assert wide.loc["01-701-1028", "DURD"] == 180
    assert wide.loc["01-701-1033", "CUMDOSE"] == 756
    reference, _ = pyreadstat.read_xport(str(external("cdiscpilot01", "adam", "adsl.xpt")))
    both = wide.join(reference.set_index("USUBJID")["CUMDOSE"].rename("PILOT"), how="inner")
    assert len(both) == 254
    open_ended = set(pilot_sdtm["ex"].loc[pilot_sdtm["ex"]["EXENDTC"].fillna("").eq(""), "USUBJID"])
    differ = set(both.index[(both["CUMDOSE"] - both["PILOT"]).abs() > 1e-9])
    assert differ <= open_ended and len(differ) == 3          # 251 of 254 equal to the pilot's


def test_pharmaverse_exposure_against_pharmaverseadam_adex(pharmaverse_sdtm, pharmaverse_params):
    """pharmaverse SDTM with ``ex_missing_end: ignore`` (admiral): DURD equals pharmaverseadam ADEX
    TDURD for every subject and CUMDOSE equals TDOSE for 252 of 254; open-ended EX records are
    left out of every parameter, so no subject has more daily administrations than days. The two
    others (01-701-1034, 01-701-1148) equal the CDISC pilot's own ADSL CUMDOSE (14,067 and 14,040
    mg: 54 x 15 + 81 x 155 + 54 x 13 for 1034 by hand from EX), a second, independent reference."""
    import pyreadstat

    from conftest import external, read_rda
    from mpmlib.derive import derive_adsl

    adsl = derive_adsl(pharmaverse_sdtm, pharmaverse_params["adsl"])
    adex = derive_adex(adsl, pharmaverse_sdtm["ex"], pharmaverse_params["adsl"]["study_drugs"],
                       pharmaverse_params["adsl"]["ex_missing_end"])
    ours = adex.pivot(index="USUBJID", columns="PARAMCD", values="AVAL")
    ref = read_rda("pharmaverseadam", "adex.rda")
    ref = ref[ref["PARAMCD"].isin(["TDOSE", "TDURD"])].pivot(index="USUBJID", columns="PARAMCD", values="AVAL")
    both = ours.join(ref, how="inner")
    assert len(both) == 254
    durd = both.dropna(subset=["DURD"])
    assert (durd["DURD"] == durd["TDURD"]).all() and len(durd) >= 250
    dose = both.dropna(subset=["CUMDOSE"])
    differ = set(dose.index[(dose["CUMDOSE"] - dose["TDOSE"]).abs() > 1e-9])
    assert differ == {"01-701-1034", "01-701-1148"}
    assert not (both["NADMIN"] > both["DURD"]).any()
    pilot, _ = pyreadstat.read_xport(str(external("cdiscpilot01", "adam", "adsl.xpt")))
    pilot = pilot.set_index("USUBJID")["CUMDOSE"]
    assert both.loc["01-701-1034", "CUMDOSE"] == 54 * 15 + 81 * 155 + 54 * 13 == pilot["01-701-1034"]
    assert both.loc["01-701-1148", "CUMDOSE"] == pilot["01-701-1148"]


def test_exposure_footnote_counts_subjects_without_a_countable_record(pharmaverse_sdtm, pharmaverse_params):
    """pharmaverse, ex_missing_end ignore: 01-705-1018 and 01-705-1382 have one EX record each, with
    a start date and no end date (plain reading of EX), so they are treated (safety population)
    with no countable record: the footnote says 2; with 'start' there are none to report."""
    from mpmlib.derive import derive_adsl
    from mpmlib.tables.summary import exposure_footnote

    ex = pharmaverse_sdtm["ex"]
    per_subject = ex.groupby("USUBJID")["EXENDTC"].apply(lambda e: e.fillna("").eq("").all())
    assert sorted(per_subject[per_subject].index) == ["01-705-1018", "01-705-1382"]
    adsl = derive_adsl(pharmaverse_sdtm, pharmaverse_params["adsl"])
    drugs = pharmaverse_params["adsl"]["study_drugs"]
    adex = derive_adex(adsl, ex, drugs, "ignore")
    note = exposure_footnote(adex, adsl, "ignore", "TRT01A")
    assert "2 subject(s) of the safety population have only EX records without an end date" in note
    assert "actual (TRT01A)" in note
    assert "without an end date" not in exposure_footnote(derive_adex(adsl, ex, drugs, "start"), adsl, "start", "TRT01P")
