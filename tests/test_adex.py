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
