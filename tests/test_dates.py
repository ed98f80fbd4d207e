"""ISO 8601 handling (SDTMIG 3.3 §4.4): partial dates allowed, impossible dates rejected;
imputation references are calendar facts checked by hand (2024 is a leap year, 2014 is not)."""

import pandas as pd
import pytest

from mpmlib.dates import date_imputation_flag, dtc_to_date, invalid_dtc, require_valid_dtc
from mpmlib.errors import DataError


def s(*values):
    return pd.Series(list(values), dtype="object")


def test_valid_and_invalid_values():
    values = s("2014", "2014-02", "2014-02-28", "2014-07-02T11:45", "2014-07-02T11:45:30",
               "", None, "2025-02-30", "2014-13", "2023-02-29", "14-02-01", "2014/02/01",
               "2014-02-01T25:00", "2024-02-29")
    assert invalid_dtc(values).tolist() == [False] * 7 + [True] * 6 + [False]


def test_complete_dates_only_by_default():
    got = dtc_to_date(s("2014-02", "2014-02-28", "2014-07-02T11:45", None))
    assert got.isna().tolist() == [True, False, False, True]
    assert got[2] == pd.Timestamp("2014-07-02")


@pytest.mark.parametrize("text, first, last", [
    ("2014-02", "2014-02-01", "2014-02-28"),
    ("2024-02", "2024-02-01", "2024-02-29"),   # leap year
    ("2014", "2014-01-01", "2014-12-31"),
    ("2014-11", "2014-11-01", "2014-11-30"),
    ("2014-02-12", "2014-02-12", "2014-02-12"),
])
def test_imputation(text, first, last):
    assert dtc_to_date(s(text), "first")[0] == pd.Timestamp(first)
    assert dtc_to_date(s(text), "last")[0] == pd.Timestamp(last)


def test_imputation_never_turns_an_invalid_date_into_a_real_one():
    assert dtc_to_date(s("2025-02-30"), "last").isna().all()
    assert dtc_to_date(s("2014-13"), "first").isna().all()


def test_imputation_flag():
    assert date_imputation_flag(s("2014", "2014-02", "2014-02-03", "", None)).tolist() == ["M", "D", "", "", ""]


def test_require_valid_dtc_names_domain_variable_and_subject():
    df = pd.DataFrame({"USUBJID": ["S1", "S2"], "AESTDTC": ["2025-02-30", "2025-02-01"]})
    with pytest.raises(DataError) as err:
        require_valid_dtc(df, "AE", "AESTDTC")
    assert "AE.AESTDTC" in str(err.value) and "S1" in str(err.value) and "S2" not in str(err.value)
    assert "2025-02-30" in str(err.value)


@pytest.mark.parametrize("text", ["0397-04", "1677", "1699-12-31", "2200", "2200-01-01", "2262-04-11",
                                  "9999-12-31", "0000"])
def test_dates_outside_the_analysis_span_are_invalid_not_a_crash(text):
    # found by tests/test_property_bad_input.py: TUDTC "0397-04" reached pd.to_datetime as
    # "397-4-01" (ValueError); a partial "1677" or "2262" overflowed on imputation. The span,
    # years 1700-2199, keeps every date and date + window inside pandas datetime64[ns]
    # (1677-09-21 to 2262-04-11, a fact of pandas).
    values = s(text)
    assert invalid_dtc(values).all()
    for imputation in (None, "first", "last"):
        assert dtc_to_date(values, imputation).isna().all()
    with pytest.raises(DataError, match=r"TU\.TUDTC: not a valid ISO 8601 date"):
        require_valid_dtc(pd.DataFrame({"USUBJID": ["S1"], "TUDTC": [text]}), "TU", "TUDTC")


@pytest.mark.parametrize("text, first, last", [
    ("1700", "1700-01-01", "1700-12-31"),
    ("2199-12", "2199-12-01", "2199-12-31"),
    ("2199-12-31", "2199-12-31", "2199-12-31"),
])
def test_dates_at_the_ends_of_the_span_still_convert(text, first, last):
    assert not invalid_dtc(s(text)).any()
    assert dtc_to_date(s(text), "first")[0] == pd.Timestamp(first)
    assert dtc_to_date(s(text), "last")[0] == pd.Timestamp(last)
